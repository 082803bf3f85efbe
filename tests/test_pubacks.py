"""PUBACKs in PUBLISH order (MQTT 3.1.1 section 4.6), each only once its message is durable."""

from __future__ import annotations

import asyncio

from central.hub.pubacks import OrderedPubAcks


class Connection:
    def __init__(self) -> None:
        self.acked: list[int | None] = []
        self.failures: list[tuple[str, str]] = []
        self.acks = OrderedPubAcks(self.acked.append, lambda source, e: self.failures.append((source, str(e))))


def test_pubacks_follow_publish_order_whatever_order_the_commits_finish_in() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        c = Connection()
        first, third = loop.create_future(), loop.create_future()
        c.acks.add(1, first, "/messages/modules/a")
        c.acks.add(2, None, "/messages/modules/a")  # no route: nothing to store, but it waits its turn
        c.acks.add(3, third, "/messages/modules/a")
        third.set_result(None)
        await asyncio.sleep(0)
        assert c.acked == []
        first.set_result(None)
        await asyncio.sleep(0)
        assert c.acked == [1, 2, 3]
        c.acks.add(None, None, "/messages/modules/a")  # QoS 0, nothing pending: at once
        assert c.acked == [1, 2, 3, None]

    asyncio.run(main())


def test_a_message_not_stored_is_reported_at_once_and_nothing_after_it_is_acknowledged() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        c = Connection()
        first, second, third = loop.create_future(), loop.create_future(), loop.create_future()
        c.acks.add(1, first, "/messages/modules/a")
        c.acks.add(2, second, "/messages/modules/b")
        c.acks.add(3, third, "/messages/modules/c")
        second.set_exception(OSError("disk full"))
        await asyncio.sleep(0)
        assert c.failures == [("/messages/modules/b", "disk full")]
        first.set_result(None)
        third.set_result(None)
        await asyncio.sleep(0)
        assert c.acked == []

    asyncio.run(main())


def test_after_close_nothing_is_acknowledged_or_reported() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        c = Connection()
        stored, failed = loop.create_future(), loop.create_future()
        c.acks.add(1, stored, "/messages/modules/a")
        c.acks.add(2, failed, "/messages/modules/a")
        c.acks.close()
        stored.set_result(None)
        failed.set_exception(OSError("router stopped"))
        await asyncio.sleep(0)
        assert (c.acked, c.failures) == ([], [])

    asyncio.run(main())
