"""The router: durable accept with group commit, delivery in priority order to attached modules,
retry with back-off, TTL expiry, the upstream log, live route changes and a clean stop."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from central.hub.delivery import backoff_delays
from central.hub.message import Message
from central.hub.router import Router, RouterClosedError
from central.hub.store import MessageStore
from central.routing import RouteTable

TO_VISION = 'FROM /messages/modules/camera/outputs/* INTO BrokeredEndpoint("/modules/vision/inputs/photos")'


def table(**routes: object) -> RouteTable:
    return RouteTable.from_edgehub({"routes": routes or {"photos": TO_VISION}})


def low_and_high_priority() -> RouteTable:
    """Outputs `low` (priority 5) and `high` (priority 0, the highest) of the camera, both to one vision input."""
    into = 'INTO BrokeredEndpoint("/modules/vision/inputs/in")'
    return table(
        low={"route": f"FROM /messages/modules/camera/outputs/low {into}", "priority": 5},
        high={"route": f"FROM /messages/modules/camera/outputs/high {into}", "priority": 0},
    )


def photo(n: int, at: float | None = None, output: str = "photos") -> Message:
    m = Message.from_module("camera", output, f"photo {n}".encode(), {"n": str(n)}, {})
    return m if at is None else Message(m.body, m.properties, m.system, m.source, at)


class Module:
    """A module's receiving side: records what it is given; can fail the first `failures` calls."""

    def __init__(self, failures: int = 0) -> None:
        self.received: list[tuple[str, Message]] = []
        self.failures = failures
        self.attempts = 0
        self.got = asyncio.Event()

    async def deliver(self, input_name: str, message: Message) -> None:
        self.attempts += 1
        await asyncio.sleep(0)  # the PUBLISH is out; the PUBACK comes back
        if self.failures:
            self.failures -= 1
            raise ConnectionError("module went away")
        self.received.append((input_name, message))
        self.got.set()

    def numbers(self) -> list[int]:
        return [int(m.properties["n"]) for _, m in self.received]

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.received) < count:
                self.got.clear()
                await self.got.wait()


async def eventually(check: Callable[[], bool]) -> None:
    """Poll `check` for up to 10 s (acks and expiry are written by the router in its own time)."""
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


async def settled(router: Router, lengths: dict[str, int]) -> None:
    await eventually(lambda: router.queue_lengths() == lengths)


def run(
    db: Path, body: Callable[[Router], Awaitable[None]], routes: RouteTable | None = None, **options: object
) -> None:
    async def main() -> None:
        router = Router(MessageStore(db), routes or table(), **options)  # type: ignore[arg-type]
        await router.start()
        try:
            await body(router)
        finally:
            await router.stop()
            router.store.close()

    asyncio.run(main())


def test_accepted_messages_reach_an_attached_module_in_order(tmp_path: Path) -> None:
    module = Module()

    async def body(router: Router) -> None:
        router.attach("vision", module.deliver)
        for n in range(50):
            await router.accept(photo(n))
        await module.wait_for(50)
        assert module.numbers() == list(range(50))
        input_name, message = module.received[0]
        assert input_name == "photos" and message.system["inputName"] == "photos"
        assert message.system["outputName"] == "photos"
        await settled(router, {})
        text = router.metrics_text()
        assert 'edgehub_messages_in_total{route="photos"} 50' in text
        assert router.accepted_by_route() == {"photos": 50}
        assert 'edgehub_messages_out_total{route="photos",endpoint="/modules/vision/inputs/photos"} 50' in text
        assert "# TYPE edgehub_queue_length gauge" in text

    run(tmp_path / "hub.db", body)


def test_queued_messages_wait_for_the_module_and_come_highest_priority_first(tmp_path: Path) -> None:
    routes = low_and_high_priority()
    module = Module()

    async def body(router: Router) -> None:
        outputs = ["low", "high", "low", "high", "low"]
        await asyncio.gather(*(router.accept(photo(n, output=o)) for n, o in enumerate(outputs)))
        assert router.queue_lengths() == {"/modules/vision/inputs/in": 5}
        router.attach("vision", module.deliver)
        await module.wait_for(5)
        assert module.numbers() == [1, 3, 0, 2, 4]

    run(tmp_path / "hub.db", body, routes)


def test_failed_deliveries_are_retried_with_back_off(tmp_path: Path) -> None:
    module = Module(failures=3)

    async def body(router: Router) -> None:
        router.attach("vision", module.deliver)
        await router.accept(photo(1))
        await module.wait_for(1)
        assert module.attempts == 4 and module.numbers() == [1]

    run(tmp_path / "hub.db", body, backoff_s=(0.01, 0.02))


def test_back_off_doubles_from_one_second_up_to_a_minute() -> None:
    assert list(itertools.islice(backoff_delays(1, 60), 8)) == [1, 2, 4, 8, 16, 32, 60, 60]


def test_detach_keeps_what_was_not_delivered_and_reattach_resumes(tmp_path: Path) -> None:
    first, second = Module(), Module()

    async def body(router: Router) -> None:
        router.attach("vision", first.deliver)
        await router.accept(photo(0))
        await first.wait_for(1)
        router.detach("vision")
        for n in range(1, 4):
            await router.accept(photo(n))
        router.attach("vision", second.deliver)
        await second.wait_for(3)
        assert (first.numbers(), second.numbers()) == ([0], [1, 2, 3])

    run(tmp_path / "hub.db", body)


def test_messages_expire_after_their_ttl(tmp_path: Path) -> None:
    now = [1000.0]
    routes = RouteTable.from_edgehub(
        {"routes": {"photos": {"route": TO_VISION, "timeToLiveSecs": 10}}, "storeAndForwardConfiguration": {}}
    )
    module = Module()

    async def body(router: Router) -> None:
        await router.accept(photo(1, at=1000.0))
        await router.accept(photo(2, at=1005.0))
        now[0] = 1011.0
        await eventually(lambda: 'edgehub_messages_expired_total{route="photos"' in router.metrics_text())
        router.attach("vision", module.deliver)
        await module.wait_for(1)
        assert module.numbers() == [2]
        assert 'endpoint="/modules/vision/inputs/photos"} 1' in router.metrics_text()

    run(tmp_path / "hub.db", body, routes, clock=lambda: now[0], expiry_interval_s=0.01)


def test_upstream_messages_go_to_the_upstream_log_and_unrouted_ones_are_dropped(tmp_path: Path) -> None:
    routes = table(up="FROM /messages/modules/camera/outputs/analysis INTO $upstream")

    async def body(router: Router) -> None:
        await router.accept(photo(1, output="analysis"))
        await router.accept(photo(2, output="nowhere"))
        log = router.upstream()
        assert [m.properties["n"] for _, m in log] == ["1"]
        assert router.upstream(after=log[0][0]) == []
        text = router.metrics_text()
        assert 'edgehub_messages_out_total{route="up",endpoint="$upstream"} 1' in text
        assert 'edgehub_messages_dropped_total{route="(no route)"} 1' in text

    run(tmp_path / "hub.db", body, routes)


def test_concurrent_accepts_share_commits(tmp_path: Path) -> None:
    async def body(router: Router) -> None:
        await asyncio.gather(*(router.accept(photo(n)) for n in range(200)))
        commits = next(line for line in router.metrics_text().splitlines() if line.startswith("edgehub_store_commits"))
        assert 1 <= int(commits.split()[-1]) < 50
        assert router.queue_lengths() == {"/modules/vision/inputs/photos": 200}

    run(tmp_path / "hub.db", body)


def test_route_changes_apply_to_new_messages(tmp_path: Path) -> None:
    module = Module()

    async def body(router: Router) -> None:
        router.attach("sensor", module.deliver)
        await router.accept(photo(1))
        router.update(
            table(status='FROM /messages/modules/camera/* INTO BrokeredEndpoint("/modules/sensor/inputs/status")')
        )
        await router.accept(photo(2))
        await module.wait_for(1)
        assert module.numbers() == [2] and module.received[0][0] == "status"
        await settled(router, {"/modules/vision/inputs/photos": 1})

    run(tmp_path / "hub.db", body)


def test_stop_commits_what_was_accepted_and_leaves_nothing_running(tmp_path: Path) -> None:
    async def main() -> None:
        router = Router(MessageStore(tmp_path / "hub.db"), table())
        await router.start()
        router.attach("vision", Module(failures=1000).deliver)
        accepts = [asyncio.ensure_future(router.accept(photo(n))) for n in range(20)]
        await asyncio.sleep(0)
        await router.stop()
        await asyncio.gather(*accepts)
        assert asyncio.all_tasks() == {asyncio.current_task()}
        with pytest.raises(RouterClosedError):
            await router.accept(photo(99))
        assert router.store.depths() == {"/modules/vision/inputs/photos": 20}
        router.store.close()

    asyncio.run(main())


def test_a_higher_priority_message_overtakes_those_not_yet_sent(tmp_path: Path) -> None:
    routes = low_and_high_priority()
    sent: list[int] = []
    gate = asyncio.Event()

    async def slow_module(input_name: str, message: Message) -> None:
        sent.append(int(message.properties["n"]))
        await gate.wait()

    async def body(router: Router) -> None:
        router.attach("vision", slow_module)
        await router.accept(photo(0, output="low"))
        await router.accept(photo(1, output="low"))
        await eventually(lambda: sent == [0, 1])  # a window of 2: both are on the wire
        await router.accept(photo(2, output="low"))
        await router.accept(photo(3, output="high"))
        gate.set()
        await eventually(lambda: len(sent) == 4)
        assert sent == [0, 1, 3, 2]
        await settled(router, {})

    run(tmp_path / "hub.db", body, routes, window=2)


def test_failures_inside_a_window_lose_nothing(tmp_path: Path) -> None:
    attempts = itertools.count()

    async def flaky_module(input_name: str, message: Message) -> None:
        await asyncio.sleep(0)
        if next(attempts) % 3 == 2:
            raise ConnectionError("no PUBACK")
        got.append(int(message.properties["n"]))

    got: list[int] = []

    async def body(router: Router) -> None:
        router.attach("vision", flaky_module)
        await asyncio.gather(*(router.accept(photo(n)) for n in range(30)))
        await eventually(lambda: sorted(got) == list(range(30)))
        await settled(router, {})
        assert len(got) == 30  # what was acknowledged is not delivered again

    run(tmp_path / "hub.db", body, window=4, backoff_s=(0.001, 0.002))


def test_a_message_committed_among_those_read_ahead_is_sent_in_its_place(tmp_path: Path) -> None:
    """A read fetches more than the window has room for; what waits in memory must not overtake a
    later commit that sorts before it (here: priority 3 between the sent 0s and the waiting 5s)."""
    into = 'INTO BrokeredEndpoint("/modules/vision/inputs/in")'
    routes = table(
        **{
            name: {"route": f"FROM /messages/modules/camera/outputs/{name} {into}", "priority": priority}
            for name, priority in (("high", 0), ("mid", 3), ("low", 5))
        }
    )
    sent: list[int] = []
    pubacks: list[asyncio.Future[None]] = []

    def gated_module(input_name: str, message: Message) -> asyncio.Future[None]:
        sent.append(int(message.properties["n"]))
        pubacks.append(asyncio.get_running_loop().create_future())
        return pubacks[-1]

    async def body(router: Router) -> None:
        for n, output in enumerate(("high", "high", "high", "low", "low")):
            await router.accept(photo(n, output=output))
        router.attach("vision", gated_module)
        await eventually(lambda: sent == [0, 1])  # a window of 2
        pubacks[0].set_result(None)
        await eventually(lambda: sent == [0, 1, 2])  # 3 and 4 were read too, and wait
        await router.accept(photo(5, output="mid"))
        while len(sent) < 6:
            for puback in pubacks:
                if not puback.done():
                    puback.set_result(None)
            await asyncio.sleep(0.01)
        assert sent == [0, 1, 2, 5, 3, 4]

    run(tmp_path / "hub.db", body, routes, window=2)
