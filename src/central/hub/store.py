"""Durable message store: per-endpoint, per-priority queues and the upstream log, in SQLite (WAL).

Domain verbs: `prepare` (number a message's queue entries), `append` (one transaction for a whole
group of prepared messages and delivery acks: the group commit),
`read` (the head of an endpoint's queue, highest priority first, oldest first within a priority),
`ack` (delivered), `purge_expired` (TTL), `upstream` (the local stand-in for IoT Hub) and `depths`.
Nothing here loads a whole queue: reads are bounded, so a backlog lives on disk, not in memory.

`synchronous=FULL` makes each commit of `append` reach the disk, so an accepted message survives a
power cut as well as a SIGKILL. Writes go through one connection and reads through another, each
under its own lock: in WAL mode a read never waits for a commit, so delivery and the CLI do not
queue behind an fsync.
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from central.hub.message import Message
from central.routing import UPSTREAM_ENDPOINT, Match

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS route_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    priority INTEGER NOT NULL,
    route TEXT NOT NULL,
    expires_at REAL NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS route_queue_head ON route_queue (endpoint, priority, seq);
CREATE INDEX IF NOT EXISTS route_queue_expiry ON route_queue (expires_at);
CREATE TABLE IF NOT EXISTS upstream_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    route TEXT NOT NULL,
    expires_at REAL NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS upstream_log_expiry ON upstream_log (expires_at);
"""
UPSTREAM_LOG_CAP: Final = 100_000
"""The upstream log keeps at most this many messages (and none past its route's TTL)."""


class StoreError(Exception):
    """The database cannot be opened or written (disk full, damaged file)."""


@dataclass(frozen=True)
class QueuedMessage:
    seq: int
    endpoint: str
    priority: int
    route: str
    expires_at: float
    message: Message

    @property
    def key(self) -> tuple[int, int]:
        """Position in its endpoint's queue; `read(endpoint, after=key)` continues from here."""
        return (self.priority, self.seq)


@dataclass(frozen=True)
class Prepared:
    """A message with its queue entries numbered and its upstream log entries, ready for `append`."""

    message: Message
    queued: tuple[QueuedMessage, ...]
    upstream: tuple[tuple[str, float], ...]  # (route, expires_at)


class MessageStore:
    def __init__(self, path: Path | str, *, upstream_cap: int = UPSTREAM_LOG_CAP) -> None:
        self.path = Path(path)
        self.upstream_cap = upstream_cap
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        try:
            self._writer = self._connect()
            self._writer.executescript(SCHEMA)
            self._reader = self._connect()
            (last,) = self._writer.execute(
                "SELECT MAX(COALESCE((SELECT MAX(seq) FROM route_queue), 0),"
                " COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'route_queue'), 0))"
            ).fetchone()
        except sqlite3.Error as e:
            raise StoreError(f"cannot open message store {self.path}: {e}") from e
        self._seqs = itertools.count(last + 1)  # next() is atomic: callers may be on any thread

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def close(self) -> None:
        with self._write_lock, self._read_lock:
            self._reader.close()
            self._writer.close()

    def prepare(self, message: Message, matches: Sequence[Match]) -> Prepared:
        """Number `message`'s queue entries (sequence numbers are the store's, handed out in order)
        so the router can start delivering before `append` has made them durable."""
        queued, upstream = [], []
        for m in matches:
            expires_at = message.enqueued_at + m.ttl_s
            if m.endpoint == UPSTREAM_ENDPOINT:
                upstream.append((m.route, expires_at))
            else:
                queued.append(QueuedMessage(next(self._seqs), m.endpoint, m.priority, m.route, expires_at, message))
        return Prepared(message, tuple(queued), tuple(upstream))

    def append(self, batch: Iterable[Prepared], acks: Mapping[str, Sequence[int]] | None = None) -> dict[str, int]:
        """Store prepared messages (queue entries and upstream log), all in one transaction.

        `acks` (endpoint: seqs delivered) are applied in the same transaction, so the router's group
        commit serves deliveries too; returns how many of those were still queued, per endpoint.
        """
        queued, upstream = [], []
        for prepared in batch:
            data = prepared.message.to_bytes()
            queued += [(q.seq, q.endpoint, q.priority, q.route, q.expires_at, data) for q in prepared.queued]
            upstream += [(route, expires_at, data) for route, expires_at in prepared.upstream]
        with self._transaction(durable=bool(queued or upstream)) as db:
            db.executemany(
                "INSERT INTO route_queue (seq, endpoint, priority, route, expires_at, data) VALUES (?, ?, ?, ?, ?, ?)",
                queued,
            )
            db.executemany("INSERT INTO upstream_log (route, expires_at, data) VALUES (?, ?, ?)", upstream)
            return {endpoint: self._delete(db, endpoint, seqs) for endpoint, seqs in (acks or {}).items()}

    def read(
        self, endpoint: str, after: tuple[int, int] | None = None, *, limit: int = 100, now: float = 0.0
    ) -> list[QueuedMessage]:
        """Up to `limit` unexpired messages of `endpoint` in delivery order, after queue position `after`."""
        after = after or (-1, -1)
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT seq, priority, route, expires_at, data FROM route_queue"
                " WHERE endpoint = ? AND (priority, seq) > (?, ?) AND expires_at > ?"
                " ORDER BY priority, seq LIMIT ?",
                (endpoint, after[0], after[1], now, limit),
            ).fetchall()
        return [QueuedMessage(seq, endpoint, p, route, exp, Message.from_bytes(d)) for seq, p, route, exp, d in rows]

    def ack(self, endpoint: str, seqs: Sequence[int]) -> int:
        """Forget delivered messages; returns how many were still queued.

        Not flushed to disk on its own (a lost ack means a message is delivered again, never lost);
        the next `append` flushes it along with the WAL.
        """
        with self._transaction(durable=False) as db:
            return self._delete(db, endpoint, seqs)

    @staticmethod
    def _delete(db: sqlite3.Connection, endpoint: str, seqs: Sequence[int]) -> int:
        cursor = db.executemany("DELETE FROM route_queue WHERE endpoint = ? AND seq = ?", [(endpoint, s) for s in seqs])
        return cursor.rowcount

    def purge_expired(self, now: float) -> dict[tuple[str, str], int]:
        """Drop queued messages past their TTL; returns how many per (route, endpoint).

        The upstream log is trimmed too (by TTL and to `upstream_cap`), not counted: it is a log.
        """
        with self._transaction(durable=False) as db:
            counts = db.execute(
                "SELECT route, endpoint, COUNT(*) FROM route_queue WHERE expires_at <= ? GROUP BY route, endpoint",
                (now,),
            ).fetchall()
            db.execute("DELETE FROM route_queue WHERE expires_at <= ?", (now,))
            db.execute("DELETE FROM upstream_log WHERE expires_at <= ?", (now,))
            db.execute(
                "DELETE FROM upstream_log WHERE seq <= (SELECT MAX(seq) FROM upstream_log) - ?", (self.upstream_cap,)
            )
        return {(route, endpoint): count for route, endpoint, count in counts}

    def depths(self) -> dict[str, int]:
        """Queued messages per endpoint (counted once at start; the router keeps them up to date)."""
        with self._read_lock:
            rows = self._reader.execute("SELECT endpoint, COUNT(*) FROM route_queue GROUP BY endpoint").fetchall()
        return dict(rows)

    def upstream(self, after: int = 0, limit: int = 100) -> list[tuple[int, Message]]:
        """The upstream log after sequence number `after`, oldest first."""
        with self._read_lock:
            rows = self._reader.execute(
                "SELECT seq, data FROM upstream_log WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
            ).fetchall()
        return [(seq, Message.from_bytes(data)) for seq, data in rows]

    @contextmanager
    def _transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT under the writer lock; rolled back on any error.

        A durable commit waits for the disk (synchronous=FULL); others only for the OS (NORMAL),
        which survives the process being killed but not a power cut.
        """
        with self._write_lock:
            try:
                self._writer.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                self._writer.execute("BEGIN IMMEDIATE")
                try:
                    yield self._writer
                    self._writer.execute("COMMIT")
                finally:
                    if self._writer.in_transaction:
                        self._writer.execute("ROLLBACK")
            except sqlite3.Error as e:
                raise StoreError(f"message store {self.path}: {e}") from e
