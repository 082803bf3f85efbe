"""Analysis results by photo hash, on disk, so a photo is analysed (and billed) once.

Delivery from the hub is at least once, and a module restart replays what was
not acknowledged; keeping results in SQLite under VISION_CACHE_DIR means a
redelivered photo is answered from here even after a restart. The key includes
the analyser profile (backend and features), so changing the backend does
re-analyse. The table holds at most `max_entries` rows; the oldest go first.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    stored_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_age ON results (stored_at);
"""


class ResultCache:
    def __init__(self, directory: Path, max_entries: int = 10_000) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "results.sqlite3"
        self.max_entries = max_entries
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    @staticmethod
    def key(sha256: str, profile: str) -> str:
        return f"{sha256}|{profile}"

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM results WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, body: dict[str, Any]) -> None:
        if self.max_entries <= 0:
            return
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO results (key, body, stored_at) VALUES (?, ?, ?)",
                (key, json.dumps(body, separators=(",", ":")), time.time()),
            )
            self._db.execute(
                "DELETE FROM results WHERE key IN (SELECT key FROM results ORDER BY stored_at DESC LIMIT -1 OFFSET ?)",
                (self.max_entries,),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
