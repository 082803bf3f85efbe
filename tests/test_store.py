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


def put(store: MessageStore, batch: list[tuple[Message, list[Match]]]) -> None:
    store.append([store.prepare(message, matches) for message, matches in batch])


def numbers(rows: list) -> list[int]:
    return [int(q.message.properties["n"]) for q in rows]


def test_message_round_trips_through_bytes() -> None:
    m = Message(b"\x00\xffbin", {"ü": "ä", "$x": "1"}, {"contentType": "application/json"}, "/messages/x", 12.5)
    assert Message.from_bytes(m.to_bytes()) == m
    assert m.for_input("in").system == {"contentType": "application/json", "inputName": "in"}
    with pytest.raises(MessageFormatError):
        Message.from_bytes(b"\x00\x00\x00\x05{bad}")


def test_higher_priority_drains_first_and_order_is_kept_within_a_priority(store: MessageStore) -> None:
    put(store, [(msg(1), [to(priority=2)]), (msg(2), [to(priority=0)]), (msg(3), [to(priority=2)])])
    put(store, [(msg(4), [to(priority=0)]), (msg(5), [to(endpoint="/modules/x/inputs/y")])])
    assert numbers(store.read(EP, now=0)) == [2, 4, 1, 3]
    head = store.read(EP, limit=2, now=0)
    assert numbers(head) == [2, 4]
    assert numbers(store.read(EP, after=head[-1].key, now=0)) == [1, 3]
    assert store.depths() == {EP: 4, "/modules/x/inputs/y": 1}


def test_ack_removes_and_reports_what_was_there(store: MessageStore) -> None:
    put(store, [(msg(n), [to()]) for n in range(3)])
    first = store.read(EP, limit=2, now=0)
    assert store.ack(EP, [q.seq for q in first]) == 2
    assert store.ack(EP, [q.seq for q in first]) == 0
    assert numbers(store.read(EP, now=0)) == [2]


def test_expired_messages_are_not_read_and_are_purged_per_route(store: MessageStore) -> None:
    put(store, [(msg(1, at=1000), [to(ttl=10, route="short"), to(endpoint="$upstream", ttl=10, route="up")])])
    put(store, [(msg(2, at=1000), [to(ttl=100, route="long")])])
    assert numbers(store.read(EP, now=1011)) == [2]
    assert store.purge_expired(now=1011) == {("short", EP): 1}
    assert store.upstream() == []
    assert store.depths() == {EP: 1}


def test_upstream_log_reads_after_a_sequence_and_is_capped(tmp_path: Path) -> None:
    store = MessageStore(tmp_path / "hub.db", upstream_cap=3)
    put(store, [(msg(n), [to(endpoint="$upstream")]) for n in range(5)])
    log = store.upstream(limit=2)
    assert [m.properties["n"] for _, m in log] == ["0", "1"]
    assert [m.properties["n"] for _, m in store.upstream(after=log[-1][0])] == ["2", "3", "4"]
    store.purge_expired(now=0)
    assert [m.properties["n"] for _, m in store.upstream()] == ["2", "3", "4"]
    store.close()


def test_messages_survive_reopening(tmp_path: Path) -> None:
    first = MessageStore(tmp_path / "hub.db")
    put(first, [(msg(n), [to()]) for n in range(3)])
    first.close()
    second = MessageStore(tmp_path / "hub.db")
    queued = second.read(EP, now=0)
    assert numbers(queued) == [0, 1, 2]
    second.ack(EP, [q.seq for q in queued])
    second.close()
    third = MessageStore(tmp_path / "hub.db")
    assert third.prepare(msg(3), [to()]).queued[0].seq > queued[-1].seq  # numbers are never reused
    third.close()


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
            print("A", producer, n, flush=True)

    async def consume(input_name, message):
        await asyncio.sleep(0.001)  # a module slower than the producers: the queue grows
        print("D", message.properties["p"], message.properties["n"], flush=True)

    async def main(path, start):
        router = Router(MessageStore(path), ROUTES)
        await router.start()
        router.attach("m", consume)
        await asyncio.gather(*(produce(router, p, start) for p in range(8)))

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
    """
)


def _run_and_kill(db: Path, start: int, acks_before_kill: int) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """Start a router process, SIGKILL it after some acknowledgements; what it acknowledged and delivered."""
    child = subprocess.Popen([sys.executable, "-c", PRODUCER, str(db), str(start)], stdout=subprocess.PIPE, text=True)
    seen: dict[str, set[tuple[int, int]]] = {"A": set(), "D": set()}

    def record(line: str) -> None:
        if line.endswith("\n"):  # the last line may have been cut by the kill
            kind, producer, n = line.split()
            seen[kind].add((int(producer), int(n)))

    try:
        assert child.stdout is not None
        for line in child.stdout:
            record(line)
            if len(seen["A"]) >= acks_before_kill:
                break
        os.kill(child.pid, signal.SIGKILL)
        for line in child.stdout:  # what it printed before it died
            record(line)
    finally:
        child.kill()
        child.wait()
    return seen["A"], seen["D"]


def _queued(db: Path) -> list[tuple[int, int]]:
    store = MessageStore(db)
    queued: list[tuple[int, int]] = []
    after = None
    while batch := store.read(EP, after=after, limit=1000, now=0):
        queued += [(int(q.message.properties["p"]), int(q.message.properties["n"])) for q in batch]
        after = batch[-1].key
    store.close()
    return queued


@pytest.mark.slow
def test_a_sigkilled_router_loses_and_reorders_no_acknowledged_message(tmp_path: Path) -> None:
    """A real process accepts (and delivers) messages through the router and is killed mid-stream,
    twice, on the same database: whatever it acknowledged is still queued, in order, or was delivered."""
    db = tmp_path / "hub.db"
    accepted, delivered = _run_and_kill(db, start=0, acks_before_kill=1500)
    more_accepted, more_delivered = _run_and_kill(db, start=1_000_000, acks_before_kill=800)
    queued = _queued(db)
    lost = (accepted | more_accepted) - set(queued) - delivered - more_delivered
    assert not lost, f"acknowledged messages lost: {sorted(lost)[:10]}"
    assert delivered and queued  # both paths were exercised
    for producer in range(8):
        order = [n for p, n in queued if p == producer]
        assert order == sorted(order), f"producer {producer}'s messages were reordered"
        assert len(order) == len(set(order))
