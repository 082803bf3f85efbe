"""The message store: queue order by priority, acks, expiry, the upstream log, and durability
across a SIGKILL of a real process that accepts messages through the router."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from central.hub.message import Message, MessageFormatError
from central.hub.store import MessageStore, StoreError
from central.routing import Match

EP = "/modules/m/inputs/i"


def msg(n: int, at: float = 1000.0) -> Message:
    return Message(f"body {n}".encode(), {"n": str(n)}, {"messageId": f"id-{n}"}, "/messages/modules/a/outputs/o", at)


def to(endpoint: str = EP, priority: int = 5, ttl: int = 100, route: str = "r") -> Match:
    return Match(route, endpoint, priority, ttl)


@pytest.fixture
def store(tmp_path: Path) -> MessageStore:
    s = MessageStore(tmp_path / "hub.db")
    yield s
    s.close()


def numbers(rows: list) -> list[int]:
    return [int(q.message.properties["n"]) for q in rows]


def test_message_round_trips_through_bytes() -> None:
    m = Message(b"\x00\xffbin", {"ü": "ä", "$x": "1"}, {"contentType": "application/json"}, "/messages/x", 12.5)
    assert Message.from_bytes(m.to_bytes()) == m
    assert m.for_input("in").system == {"contentType": "application/json", "inputName": "in"}
    with pytest.raises(MessageFormatError):
        Message.from_bytes(b"\x00\x00\x00\x05{bad}")


def test_higher_priority_drains_first_and_order_is_kept_within_a_priority(store: MessageStore) -> None:
    store.append([(msg(1), [to(priority=2)]), (msg(2), [to(priority=0)]), (msg(3), [to(priority=2)])])
    store.append([(msg(4), [to(priority=0)]), (msg(5), [to(endpoint="/modules/x/inputs/y")])])
    assert numbers(store.read(EP, now=0)) == [2, 4, 1, 3]
    head = store.read(EP, limit=2, now=0)
    assert numbers(head) == [2, 4]
    assert numbers(store.read(EP, after=head[-1].key, now=0)) == [1, 3]
    assert store.depths() == {EP: 4, "/modules/x/inputs/y": 1}


def test_ack_removes_and_reports_what_was_there(store: MessageStore) -> None:
    store.append([(msg(n), [to()]) for n in range(3)])
    first = store.read(EP, limit=2, now=0)
    assert store.ack(EP, [q.seq for q in first]) == 2
    assert store.ack(EP, [q.seq for q in first]) == 0
    assert numbers(store.read(EP, now=0)) == [2]


def test_expired_messages_are_not_read_and_are_purged_per_route(store: MessageStore) -> None:
    store.append([(msg(1, at=1000), [to(ttl=10, route="short"), to(endpoint="$upstream", ttl=10, route="up")])])
    store.append([(msg(2, at=1000), [to(ttl=100, route="long")])])
    assert numbers(store.read(EP, now=1011)) == [2]
    assert store.purge_expired(now=1011) == {("short", EP): 1}
    assert store.upstream() == []
    assert store.depths() == {EP: 1}


def test_upstream_log_reads_after_a_sequence_and_is_capped(tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "hub.db", upstream_cap=3)
    store.append([(msg(n), [to(endpoint="$upstream")]) for n in range(5)])
    log = store.upstream(limit=2)
    assert [m.properties["n"] for _, m in log] == ["0", "1"]
    assert [m.properties["n"] for _, m in store.upstream(after=log[-1][0])] == ["2", "3", "4"]
    store.purge_expired(now=0)
    assert [m.properties["n"] for _, m in store.upstream()] == ["2", "3", "4"]
    store.close()


def test_messages_survive_reopening(tmp_path: Path) -> None:
    first = MessageStore(tmp_path / "hub.db")
    first.append([(msg(n), [to()]) for n in range(3)])
    first.close()
    second = MessageStore(tmp_path / "hub.db")
    assert numbers(second.read(EP, now=0)) == [0, 1, 2]
    second.close()


def test_an_unusable_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open message store"):
        MessageStore(tmp_path / "missing-dir" / "hub.db")


PRODUCER = textwrap.dedent(
    """
    import asyncio, sys
    from central.hub.message import Message
    from central.hub.router import Router
    from central.hub.store import MessageStore
    from central.routing import RouteTable

    ROUTES = RouteTable.from_edgehub({"routes": {"r": 'FROM /* INTO BrokeredEndpoint("/modules/m/inputs/i")'}})

    async def produce(router, producer, start):
        for n in range(start, start + 100_000):
            await router.accept(Message(b"x" * 200, {"p": str(producer), "n": str(n)}, {}, "/messages/modules/a/outputs/o"))
            print(producer, n, flush=True)

    async def main(path, start):
        router = Router(MessageStore(path), ROUTES)
        await router.start()
        await asyncio.gather(*(produce(router, p, start) for p in range(8)))

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


def _run_and_kill(db: Path, start: int, acks_before_kill: int) -> list[tuple[int, int]]:
    """Start a producer process, SIGKILL it after some acknowledgements, return what it acknowledged."""
    child = subprocess.Popen([sys.executable, "-c", PRODUCER, str(db), str(start)], stdout=subprocess.PIPE, text=True)
    acked: list[tuple[int, int]] = []
    try:
        assert child.stdout is not None
        for line in child.stdout:
            producer, n = map(int, line.split())
            acked.append((producer, n))
            if len(acked) >= acks_before_kill:
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    return acked


@pytest.mark.slow
def test_a_sigkilled_router_loses_and_reorders_no_acknowledged_message(tmp_path: Path) -> None:
    db = tmp_path / "hub.db"
    acked = _run_and_kill(db, start=0, acks_before_kill=1500)
    acked += _run_and_kill(db, start=1_000_000, acks_before_kill=800)  # restarted on the same file
    store = MessageStore(db)
    stored: list[tuple[int, int]] = []
    after = None
    while batch := store.read(EP, after=after, limit=1000, now=0):
        stored += [(int(q.message.properties["p"]), int(q.message.properties["n"])) for q in batch]
        after = batch[-1].key
    store.close()
    assert set(acked) <= set(stored), "an acknowledged message was lost"
    for producer in range(8):
        sent = [n for p, n in stored if p == producer]
        assert sent == sorted(sent), f"producer {producer}'s messages were reordered"
        assert len(sent) == len(set(sent))
