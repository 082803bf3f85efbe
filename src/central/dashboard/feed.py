"""What the dashboard shows from the upstream log, kept incrementally.

The upstream log only grows, so the feed reads it from a cursor and keeps
bounded windows (sensor readings of the last hour, recent alerts, vision results
by photo, the latest messages) instead of rescanning the store per page view.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from central.hub.message import Message

ReadUpstream = Callable[[int, int], list[tuple[int, Message]]]
SENSOR_FIELDS = ("temperature", "humidity", "pressure")
WINDOW_S = 3600


@dataclass(frozen=True)
class Entry:
    seq: int
    module: str
    output: str
    at: float
    body: Any  # parsed JSON when the message says it is JSON, else the text


def _module_and_output(message: Message) -> tuple[str, str]:
    parts = message.source.strip("/").split("/")  # messages/modules/{m}/outputs/{o}
    module = message.system.get("connectionModuleId") or (parts[2] if len(parts) > 2 else "")
    output = message.system.get("outputName") or (parts[4] if len(parts) > 4 else "")
    return module, output


def decode_body(message: Message) -> Any:
    text = message.body.decode("utf-8", errors="replace")
    if message.system.get("contentType", "").startswith("application/json"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def readings(body: Any) -> list[dict[str, Any]]:
    """Telemetry bodies are one reading or a batch (a list, or an object with `readings`)."""
    if isinstance(body, list):
        return [r for r in body if isinstance(r, dict)]
    if isinstance(body, dict):
        batch = body.get("readings")
        return [r for r in batch if isinstance(r, dict)] if isinstance(batch, list) else [body]
    return []


class UpstreamFeed:
    def __init__(self, read: ReadUpstream, log_size: int = 500) -> None:
        self._read = read
        self._cursor = 0
        self._lock = threading.Lock()
        self.log: deque[Entry] = deque(maxlen=log_size)
        self.series: dict[str, deque[tuple[float, float]]] = {f: deque() for f in SENSOR_FIELDS}
        self.alerts: deque[Entry] = deque(maxlen=50)
        self.analyses: dict[str, Any] = {}

    def refresh(self) -> None:
        """Read what arrived since the last call (cheap when nothing did)."""
        with self._lock:
            while batch := self._read(self._cursor, 500):
                for seq, message in batch:
                    self._add(seq, message)
                    self._cursor = seq
                if len(batch) < 500:
                    break
            self._trim(time.time() - WINDOW_S)

    def _add(self, seq: int, message: Message) -> None:
        module, output = _module_and_output(message)
        entry = Entry(seq, module, output, message.enqueued_at, decode_body(message))
        self.log.append(entry)
        if output == "telemetry":
            for reading in readings(entry.body):
                for name in SENSOR_FIELDS:
                    value = reading.get(name)
                    if isinstance(value, int | float):
                        self.series[name].append((entry.at, float(value)))
        elif output == "alerts":
            self.alerts.append(entry)
        elif output == "analysis" and isinstance(entry.body, dict):
            blob = (entry.body.get("photo") or {}).get("blob")
            if blob:
                self.analyses[blob] = entry.body
                if len(self.analyses) > 500:
                    self.analyses.pop(next(iter(self.analyses)))

    def _trim(self, since: float) -> None:
        for points in self.series.values():
            while points and points[0][0] < since:
                points.popleft()

    def messages(self, module: str = "", output: str = "") -> list[Entry]:
        with self._lock:
            return [
                e
                for e in reversed(self.log)
                if (not module or e.module == module) and (not output or e.output == output)
            ]

    def sources(self) -> list[tuple[str, str]]:
        """The (module, output) pairs in the kept log, sorted: the message log's filter choices."""
        with self._lock:
            return sorted({(e.module, e.output) for e in self.log})
