"""The on-disk spool: every capture is kept here until its upload is confirmed.

Rules (the whole contract of this file):
- An entry is a data file `{seq}-{id}{suffix}` plus a JSON sidecar `{seq}-{id}.json`. Both are written to a
  temporary name, flushed to disk and renamed; the sidecar goes last, so an entry exists exactly when its
  sidecar does. Data without a sidecar (a crash between the two renames) is deleted at start.
- `seq` grows by one per entry and continues after a restart, so `pending()` is capture order (FIFO).
- The spool is bounded by `limit_bytes`. When a new photo would not fit, `add` raises `SpoolFull` and the
  photo is not taken: entries already accepted are never dropped to make room. A clip that was accepted
  (space was checked when it started) is always kept, even if it takes the spool past the limit.
- An entry leaves the spool through `remove`, after its upload and announcement, or through `set_aside`
  when storage refuses it for good (its data is gone, or the service answers a permanent 4xx): it is moved
  to `rejected/` with the reason, so one bad entry cannot hold back every capture behind it. An entry whose
  sidecar cannot be read at start goes to `rejected/` too, rather than keeping the module from starting.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_SEQ_DIGITS = 12


class SpoolFull(RuntimeError):
    """The spool has no room for this capture."""


@dataclass(frozen=True)
class SpoolEntry:
    seq: int
    id: str
    data: Path
    meta: dict[str, Any]
    size: int

    @property
    def sidecar(self) -> Path:
        return self.data.with_name(f"{self.data.name.split('.')[0]}.json")


def _write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    partial.replace(path)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    def __init__(self, directory: Path, limit_bytes: int) -> None:
        self.directory = directory
        self.limit_bytes = limit_bytes
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(directory / ".scratch", ignore_errors=True)  # a clip cut short by a crash cannot be finished
        self._entries = self._scan()
        self._next_seq = (self._entries[-1].seq + 1) if self._entries else 1
        self._used = sum(e.size for e in self._entries)
        if self._entries:
            log.info("spool %s: %d entries (%d bytes) waiting from before", directory, len(self._entries), self._used)

    # -- reading --------------------------------------------------------------
    @property
    def depth(self) -> int:
        return len(self._entries)

    @property
    def used_bytes(self) -> int:
        return self._used

    def pending(self) -> list[SpoolEntry]:
        """Entries in capture order."""
        with self._lock:
            return list(self._entries)

    def has_room(self, size: int = 0) -> bool:
        return self._used + size <= self.limit_bytes

    # -- writing --------------------------------------------------------------
    def add(self, entry_id: str, data: bytes, suffix: str, meta: dict[str, Any]) -> SpoolEntry:
        """Store a capture durably; raises `SpoolFull` (nothing written) when it does not fit."""
        with self._lock:
            if not self.has_room(len(data)):
                raise SpoolFull(
                    f"spool full: {self._used} of {self.limit_bytes} bytes used by {len(self._entries)} captures waiting for upload"
                )
            seq = self._take_seq()
            target = self.directory / f"{seq:0{_SEQ_DIGITS}d}-{entry_id}{suffix}"
            _write_atomic(target, data)
            return self._commit(seq, entry_id, target, meta, len(data))

    def adopt(self, entry_id: str, source: Path, meta: dict[str, Any]) -> SpoolEntry:
        """Move a finished file (a clip recorded under `scratch_dir`) into the spool, whatever the limit."""
        with self._lock:
            seq = self._take_seq()
            target = self.directory / f"{seq:0{_SEQ_DIGITS}d}-{entry_id}{source.suffix}"
            with source.open("rb") as f:
                os.fsync(f.fileno())
            source.replace(target)
            return self._commit(seq, entry_id, target, meta, target.stat().st_size)

    def remove(self, entry: SpoolEntry) -> None:
        with self._lock:
            entry.sidecar.unlink(missing_ok=True)  # the sidecar first: from here on the entry no longer exists
            entry.data.unlink(missing_ok=True)
            self._entries = [e for e in self._entries if e.seq != entry.seq]
            self._used -= entry.size

    def set_aside(self, entry: SpoolEntry, reason: str) -> None:
        """Move an entry that can never be uploaded to `rejected/`, its sidecar noting why."""
        rejected = self.directory / "rejected"
        rejected.mkdir(exist_ok=True)
        with self._lock:
            if entry.data.exists():
                entry.data.replace(rejected / entry.data.name)
            _write_atomic(rejected / entry.sidecar.name, json.dumps(entry.meta | {"rejected": reason}).encode())
            entry.sidecar.unlink(missing_ok=True)
            self._entries = [e for e in self._entries if e.seq != entry.seq]
            self._used -= entry.size

    @property
    def rejected(self) -> int:
        return len(list((self.directory / "rejected").glob("*.json")))

    @property
    def scratch_dir(self) -> Path:
        """Where clips are recorded before `adopt`; on the spool's file system so the move is a rename."""
        scratch = self.directory / ".scratch"
        scratch.mkdir(exist_ok=True)
        return scratch

    # -- internals ------------------------------------------------------------
    def _take_seq(self) -> int:
        seq = self._next_seq
        self._next_seq += 1
        return seq

    def _commit(self, seq: int, entry_id: str, data: Path, meta: dict[str, Any], size: int) -> SpoolEntry:
        entry = SpoolEntry(seq=seq, id=entry_id, data=data, meta=meta, size=size)
        _write_atomic(entry.sidecar, json.dumps(meta, sort_keys=True).encode())
        _sync_dir(self.directory)
        self._entries.append(entry)
        self._used += size
        return entry

    def _scan(self) -> list[SpoolEntry]:
        """Entries left by an earlier run, in order; leftovers of an interrupted write are deleted."""
        entries: list[SpoolEntry] = []
        sidecars = {p.stem for p in self.directory.glob("*.json")}
        for path in sorted(self.directory.iterdir()):
            if path.name.startswith(".") and path.is_file():
                path.unlink()  # a partial write
            elif path.is_file() and path.suffix != ".json":
                stem = path.name.split(".")[0]
                if stem not in sidecars:
                    log.warning("spool: %s has no sidecar (interrupted capture); deleting it", path.name)
                    path.unlink()
                    continue
                sidecars.discard(stem)
                entry = self._load(stem, path)
                if entry is not None:
                    entries.append(entry)
        for stem in sidecars:
            log.warning("spool: sidecar %s.json without data; deleting it", stem)
            (self.directory / f"{stem}.json").unlink()
        return entries

    def _load(self, stem: str, data: Path) -> SpoolEntry | None:
        """One entry left by an earlier run. One whose sidecar cannot be read (a damaged SD card, a stray file)
        is moved to `rejected/`: raising here would stop every start of the module, and with it every upload."""
        sidecar = data.with_name(f"{stem}.json")
        seq, _, entry_id = stem.partition("-")
        try:
            meta = json.loads(sidecar.read_text())
            if not isinstance(meta, dict):
                raise ValueError("the sidecar is not a JSON object")
            return SpoolEntry(int(seq), entry_id, data, meta, data.stat().st_size)
        except (OSError, ValueError) as e:
            log.error("spool: %s cannot be read (%s); moved to rejected/", sidecar.name, e)
            rejected = self.directory / "rejected"
            rejected.mkdir(exist_ok=True)
            data.replace(rejected / data.name)
            sidecar.replace(rejected / sidecar.name)
            return None
