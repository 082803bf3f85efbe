"""Direct methods: validating a call and matching a module's response to it by `$rid`.

The hub publishes a request on `$iothub/methods/POST/{name}/?$rid={rid}` to the connected
module and waits for `$iothub/methods/res/{status}/?$rid={rid}` on the same connection.
IoT Hub's rules: the module must be connected and subscribed to methods (else 404), the
response timeout is 5-300 s (else 400), request payloads are at most 128 KB (else 413),
and no response in time is 504. Waiting is the caller's business; this module only keeps
the table of pending calls, so it holds any waiter object (an asyncio future in the hub).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Generic, TypeVar

from central.hub.errors import StatusError

MIN_TIMEOUT_S = 5
MAX_TIMEOUT_S = 300
MAX_PAYLOAD_BYTES = 128 * 1024

W = TypeVar("W")


class MethodError(StatusError):
    """A direct method call that failed before or instead of a module's answer."""


@dataclass(frozen=True)
class MethodCall:
    method: str
    payload: bytes
    timeout_s: float


def prepare_call(method: str, payload: object, timeout_s: float) -> MethodCall:
    """A validated call whose payload is JSON bytes, or MethodError with IoT Hub's status."""
    if not method or "/" in method:
        raise MethodError(400, f"method name {method!r} is empty or contains '/'")
    if not MIN_TIMEOUT_S <= timeout_s <= MAX_TIMEOUT_S:
        raise MethodError(400, f"responseTimeoutInSeconds {timeout_s} is outside {MIN_TIMEOUT_S}-{MAX_TIMEOUT_S}")
    try:
        body = json.dumps(payload).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise MethodError(400, f"payload is not JSON-serialisable: {e}") from e
    if len(body) > MAX_PAYLOAD_BYTES:
        raise MethodError(413, f"payload of {len(body)} bytes exceeds {MAX_PAYLOAD_BYTES}")
    return MethodCall(method, body, float(timeout_s))


def parse_response(body: bytes) -> object:
    """A module's response payload: JSON, or None when the module sent an empty or non-JSON body."""
    try:
        return json.loads(body) if body.strip() else None
    except ValueError:
        return None


class PendingCalls(Generic[W]):
    """Calls waiting for a response, keyed by (module, rid): a module can only answer its own."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._waiting: dict[tuple[str, str], W] = {}

    def add(self, module: str, waiter: W) -> str:
        rid = format(next(self._ids), "x")
        self._waiting[(module, rid)] = waiter
        return rid

    def pop(self, module: str, rid: str) -> W | None:
        return self._waiting.pop((module, rid), None)

    def for_module(self, module: str) -> list[W]:
        return [w for (m, _), w in self._waiting.items() if m == module]
