"""Just enough HTTP/1.1 for the hub's loopback endpoints (workload API, /metrics), sans-I/O.

One request per connection: the response says `Connection: close`, which every client
(requests in the SDK, Prometheus, curl) handles. Bodies need a Content-Length.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from http import HTTPStatus

MAX_HEAD = 16_384
MAX_BODY = 1_048_576


class HttpError(Exception):
    """A request that cannot be parsed; answered with 400 and the connection closed."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


def parse_request(buffer: bytearray) -> Request | None:
    """The request at the front of `buffer`, or None while it is incomplete."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD:
            raise HttpError("request head too large")
        return None
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ")
    except ValueError as e:
        raise HttpError(f"bad request line {lines[0]!r}") from e
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise HttpError(f"bad header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    if "transfer-encoding" in headers:
        raise HttpError("Transfer-Encoding is not supported: send a Content-Length")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError as e:
        raise HttpError("Content-Length is not a number") from e
    if not 0 <= length <= MAX_BODY:
        raise HttpError(f"body of {length} bytes not allowed")
    if len(buffer) < end + 4 + length:
        return None
    body = bytes(buffer[end + 4 : end + 4 + length])
    del buffer[: end + 4 + length]
    url = urllib.parse.urlsplit(target)
    query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
    return Request(method.upper(), urllib.parse.unquote(url.path), query, headers, body)


def format_response(response: Response) -> bytes:
    reason = HTTPStatus(response.status).phrase
    head = [f"HTTP/1.1 {response.status} {reason}", f"Content-Length: {len(response.body)}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in response.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body
