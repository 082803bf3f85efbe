"""What a condition sees of a message: its two property bags and, lazily, its JSON body.

One context is made per message and shared by every route, so a JSON body is decoded at most once.
The body counts only when edgeHub would look at it: content type `application/json` and content
encoding utf-8, utf-16 or utf-32 (names case-insensitive); anything else is undefined.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cached_property
from typing import Final, Protocol

from central.routing.values import UNDEFINED, Value

JSON_ENCODINGS: Final = {"utf-8": "utf-8", "utf-16": "utf-16", "utf-32": "utf-32"}


class RoutableMessage(Protocol):
    """The parts of a message that routing reads (central.hub.message.Message has them)."""

    body: bytes
    properties: Mapping[str, str]
    system: Mapping[str, str]
    source: str


_NOT_JSON: Final = object()


class EvaluationContext:
    """One message as seen by conditions; built once per message by RouteTable.match."""

    def __init__(self, message: RoutableMessage) -> None:
        self.message = message

    @property
    def properties(self) -> Mapping[str, str]:
        return self.message.properties

    @property
    def system(self) -> Mapping[str, str]:
        return self.message.system

    @cached_property
    def body(self) -> object:
        """The decoded JSON body, or _NOT_JSON when the body does not count as JSON."""
        system = self.message.system
        if system.get("contentType", "").lower() != "application/json":
            return _NOT_JSON
        encoding = JSON_ENCODINGS.get(system.get("contentEncoding", "").lower())
        if encoding is None:
            return _NOT_JSON
        try:
            return json.loads(self.message.body.decode(encoding))
        except (UnicodeDecodeError, ValueError):
            return _NOT_JSON


_SEGMENT: Final = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")
_INDEX: Final = re.compile(r"\[(\d+)\]")


def parse_body_path(path: str) -> tuple[str | int, ...] | None:
    """`a.b[0].c` as ("a", "b", 0, "c"); None when it is not a supported JSON path."""
    steps: list[str | int] = []
    for segment in path.split("."):
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            return None
        steps.append(match.group(1))
        steps.extend(int(i) for i in _INDEX.findall(match.group(2)))
    return tuple(steps)


def query_body(context: EvaluationContext, steps: tuple[str | int, ...]) -> Value:
    """The scalar at `steps` in the JSON body; objects, arrays and misses are undefined."""
    node = context.body
    if node is _NOT_JSON:
        return UNDEFINED
    for step in steps:
        found = (isinstance(node, dict) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and step < len(node)
        )
        if not found:
            return UNDEFINED
        node = node[step]  # type: ignore[index]
    if node is None or isinstance(node, (str, bool)):
        return node
    if isinstance(node, (int, float)):
        return float(node)
    return UNDEFINED
