"""Module twins: desired properties from the manifest, reported properties from the module.

Each section is a JSON object with its own `$version`. Patches merge recursively and a
`null` removes a key, as in IoT Hub. Keys may not contain `.`, `$` or spaces, nesting stops
at 10 levels, and each section is capped at 32 KB (its compact JSON size, a slight
overestimate of IoT Hub's count). Twins persist in the `twins` table of hub.db, so
reported properties and versions survive restarts.
"""

from __future__ import annotations

import copy
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from central.hub.errors import StatusError

MAX_SECTION_BYTES = 32 * 1024
MAX_DEPTH = 10
_FORBIDDEN_KEY_CHARS = frozenset(".$ ")


class TwinError(StatusError):
    """A twin operation IoT Hub would refuse; `status` is the status code it would answer with."""


@dataclass
class Twin:
    desired: dict[str, Any]
    desired_version: int
    reported: dict[str, Any]
    reported_version: int

    def document(self) -> dict[str, Any]:
        """The twin as the SDK's GET returns it: each section with its `$version`."""
        return {
            "desired": {**self.desired, "$version": self.desired_version},
            "reported": {**self.reported, "$version": self.reported_version},
        }


def merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`target` with `patch` applied (recursive merge, null deletes); neither argument changes."""
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        elif isinstance(value, dict):
            result[key] = merge({}, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The patch that turns `old` into `new` (removed keys become null)."""
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            nested = diff(before, value)
            if nested:
                patch[key] = nested
        elif value != before or key not in old:
            patch[key] = value
    return patch


def validate_patch(patch: object, section: str, depth: int = 1) -> dict[str, Any]:
    """`patch` if it is a JSON object IoT Hub would accept as a twin patch, else TwinError 400."""
    if not isinstance(patch, dict):
        raise TwinError(400, f"{section} patch must be a JSON object")
    if depth > MAX_DEPTH:
        raise TwinError(400, f"{section} nests deeper than {MAX_DEPTH} levels")
    for key, value in patch.items():
        if not key or _FORBIDDEN_KEY_CHARS & set(key):
            raise TwinError(400, f"{section} key {key!r} is empty or contains '.', '$' or a space")
        if isinstance(value, dict):
            validate_patch(value, f"{section}.{key}", depth + 1)
    return patch


def _check_size(section: str, document: dict[str, Any]) -> None:
    size = len(json.dumps(document, separators=(",", ":")).encode("utf-8"))
    if size > MAX_SECTION_BYTES:
        raise TwinError(400, f"{section} properties would be {size} bytes, over the {MAX_SECTION_BYTES} limit")


def _without_metadata(properties: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in properties.items() if not k.startswith("$")}


class TwinStore:
    """All module twins, in SQLite."""

    def __init__(self, db_path: Path) -> None:
        self._db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS twins (module TEXT PRIMARY KEY, desired TEXT NOT NULL, "
            "desired_version INTEGER NOT NULL, reported TEXT NOT NULL, reported_version INTEGER NOT NULL)"
        )

    def close(self) -> None:
        self._db.close()

    def get(self, module: str) -> Twin:
        row = self._db.execute(
            "SELECT desired, desired_version, reported, reported_version FROM twins WHERE module = ?", (module,)
        ).fetchone()
        if row is None:
            raise TwinError(404, f"module {module!r} has no twin")
        return Twin(json.loads(row[0]), row[1], json.loads(row[2]), row[3])

    def _put(self, module: str, twin: Twin) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO twins VALUES (?, ?, ?, ?, ?)",
            (module, json.dumps(twin.desired), twin.desired_version, json.dumps(twin.reported), twin.reported_version),
        )

    def seed(self, module: str, desired: dict[str, Any]) -> dict[str, Any] | None:
        """Make the manifest's desired properties current; the patch to push if they changed."""
        desired = _without_metadata(desired)
        try:
            twin = self.get(module)
        except TwinError:
            self._put(module, Twin(desired, 1, {}, 1))
            return None
        patch = diff(twin.desired, desired)
        if not patch:
            return None
        twin.desired, twin.desired_version = desired, twin.desired_version + 1
        self._put(module, twin)
        return {**patch, "$version": twin.desired_version}

    def patch_desired(self, module: str, patch: object) -> dict[str, Any]:
        """Merge a desired patch; the patch with its new `$version`, ready to push to the module."""
        patch = validate_patch(patch, "desired")
        twin = self.get(module)
        merged = merge(twin.desired, patch)
        _check_size("desired", merged)
        twin.desired, twin.desired_version = merged, twin.desired_version + 1
        self._put(module, twin)
        return {**patch, "$version": twin.desired_version}

    def patch_reported(self, module: str, body: bytes) -> int:
        """Merge a reported patch sent by the module; the new reported `$version`."""
        try:
            patch = json.loads(body)
        except ValueError as e:
            raise TwinError(400, f"reported patch is not JSON: {e}") from e
        patch = validate_patch(patch, "reported")
        twin = self.get(module)
        merged = merge(twin.reported, patch)
        _check_size("reported", merged)
        twin.reported, twin.reported_version = merged, twin.reported_version + 1
        self._put(module, twin)
        return twin.reported_version
