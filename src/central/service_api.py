"""The operator's service API: the part of IoT Hub's REST API that `central` commands use.

HTTPS on `<bind>:8443` with the local CA's server certificate, and IoT Hub's
service SAS (`skn=iothubowner`, signed with the hub owner key from keys.json),
so the official `azure-iot-hub` SDK drives the local edge exactly as it drives
a real hub:

- `POST  /twins/{d}/modules/{m}/methods`  invoke a direct method
- `GET   /twins/{d}/modules/{m}`          get a module twin (`$edgeAgent` carries module status)
- `PATCH /twins/{d}/modules/{m}`          patch desired properties
- `GET   /local/upstream?after=N&wait=S`  upstream messages after sequence N (or `latest`), waiting
  up to S s for one; `next` is the `after` of the following call (not an IoT Hub API: the local
  stand-in for the built-in Event Hub endpoint)

One request per connection (`Connection: close`), each connection its own task,
so the SDK's connection-per-call pattern never blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Protocol

from central.edge_locator import OWNER_POLICY
from central.hub.auth import AuthError, verify_token
from central.hub.errors import StatusError
from central.hub.http import HttpError, Request, Response, format_response, parse_request
from central.hub.message import Message

log = logging.getLogger(__name__)

SERVICE_PORT = 8443
MAX_WAIT_S = 60.0
UPSTREAM_PAGE = 1000
READ_TIMEOUT_S = 30.0
_TWIN = re.compile(r"^/twins/(?P<device>[^/]+)/modules/(?P<module>[^/]+)$")
_METHODS = re.compile(r"^/twins/(?P<device>[^/]+)/modules/(?P<module>[^/]+)/methods$")


class HubApi(Protocol):
    """What the service API needs from `central.hub.app.Hub`."""

    async def invoke_method(
        self, module: str, method: str, payload: object, timeout_s: float
    ) -> tuple[int, object]: ...
    def get_twin(self, module: str) -> dict[str, Any]: ...
    async def patch_desired(self, module: str, patch: dict[str, Any]) -> dict[str, Any]: ...
    def upstream(self, after: int, limit: int) -> list[tuple[int, Message]]: ...
    def connected_modules(self) -> set[str]: ...


class ApiError(StatusError):
    """A request the service API refuses itself (bad body, auth, unknown resource)."""


@dataclass(frozen=True)
class Identity:
    device_id: str
    host_name: str
    """`<bind>:8443`, the HostName of the owner connection string; SAS tokens are signed for it."""
    owner_key: str = field(repr=False)


def _json(status: int, document: Any) -> Response:
    return Response(status, json.dumps(document).encode())


def _error(status: int, message: str) -> Response:
    return _json(status, {"Message": f"ErrorCode:{HTTPStatus(status).phrase.replace(' ', '')};{message}"})


def _body(request: Request) -> Any:
    try:
        return json.loads(request.body or b"{}")
    except json.JSONDecodeError as e:
        raise ApiError(400, f"body is not JSON: {e.msg}") from e


class ServiceApi:
    """Authorises and answers service requests against a Hub; `serve()` puts it on the network."""

    def __init__(
        self,
        hub: HubApi,
        identity: Identity,
        agent_reported: Callable[[], Mapping[str, Any]] = dict,
        agent_desired: Callable[[], Mapping[str, Any]] = dict,
    ) -> None:
        self.hub = hub
        self.identity = identity
        self._agent_reported = agent_reported
        self._agent_desired = agent_desired

    def authorise(self, request: Request) -> None:
        token = request.headers.get("authorization", "")
        if "skn=" not in token or token.rsplit("skn=", 1)[1].split("&")[0] != OWNER_POLICY:
            raise ApiError(401, f"a SharedAccessSignature with skn={OWNER_POLICY} is required")
        try:
            verify_token(token, self.identity.host_name, self.identity.owner_key)
        except AuthError as e:
            raise ApiError(401, str(e)) from e

    async def handle(self, request: Request) -> Response:
        try:
            self.authorise(request)
            return await self._route(request)
        except StatusError as e:  # its own, a twin's or a method call's refusal
            return _error(e.status, str(e))
        except Exception:  # the boundary: a bug answers 500 and is logged, the server keeps serving
            log.exception("service API request %s %s failed", request.method, request.path)
            return _error(500, "internal error; see the central up log")

    async def _route(self, request: Request) -> Response:
        if request.path == "/local/upstream" and request.method == "GET":
            return await self._upstream(request.query)
        if match := _METHODS.match(request.path):
            self._check_device(match["device"])
            if request.method != "POST":
                raise ApiError(405, "methods take POST")
            return await self._invoke(match["module"], _body(request))
        if match := _TWIN.match(request.path):
            self._check_device(match["device"])
            if request.method == "GET":
                return _json(200, self._twin(match["module"]))
            if request.method == "PATCH":
                return await self._patch(match["module"], _body(request))
            raise ApiError(405, "module twins take GET or PATCH")
        raise ApiError(404, f"no such resource {request.path!r}")

    def _check_device(self, device: str) -> None:
        if device != self.identity.device_id:
            raise ApiError(404, f"device {device!r} is not registered (this edge is {self.identity.device_id!r})")

    async def _invoke(self, module: str, body: Any) -> Response:
        if not isinstance(body, dict) or not isinstance(body.get("methodName"), str):
            raise ApiError(400, "methodName is required")
        timeout = body.get("responseTimeoutInSeconds", 30)
        if not isinstance(timeout, int | float):
            raise ApiError(400, "responseTimeoutInSeconds must be a number")
        status, payload = await self.hub.invoke_method(module, body["methodName"], body.get("payload"), timeout)
        return _json(200, {"status": status, "payload": payload})

    def _twin(self, module: str) -> dict[str, Any]:
        if module == "$edgeAgent":
            sections = {
                "desired": {**self._agent_desired(), "$version": 1},
                "reported": {**self._agent_reported(), "$version": 1},
            }
        else:
            sections = self.hub.get_twin(module)
        connected = module in self.hub.connected_modules()
        return {
            "deviceId": self.identity.device_id,
            "moduleId": module,
            "etag": f"v{sections['desired'].get('$version', 1)}-{sections['reported'].get('$version', 1)}",
            "version": sections["desired"].get("$version", 1) + sections["reported"].get("$version", 1),
            "status": "enabled",
            "connectionState": "Connected" if connected or module == "$edgeAgent" else "Disconnected",
            "tags": {},
            "properties": sections,
        }

    async def _patch(self, module: str, body: Any) -> Response:
        if module == "$edgeAgent":
            raise ApiError(400, "$edgeAgent desired properties come from the manifest: run `central up` with it")
        desired = body.get("properties", {}).get("desired") if isinstance(body, dict) else None
        if not isinstance(desired, dict):
            raise ApiError(400, "properties.desired must be a JSON object")
        await self.hub.patch_desired(module, desired)
        return _json(200, self._twin(module))

    async def _upstream(self, query: Mapping[str, str]) -> Response:
        """Messages after `after` (or enqueued since unix time `since`), long-polling up to `wait` s."""
        try:
            wait = min(float(query.get("wait", "0")), MAX_WAIT_S)
            limit = max(1, min(int(query.get("limit", "100")), UPSTREAM_PAGE))
            if "since" in query:
                after = position_since(self.hub.upstream, float(query["since"]))
            else:
                after = (
                    position_since(self.hub.upstream, math.inf)
                    if query.get("after") == "latest"
                    else int(query.get("after", "0"))
                )
        except ValueError as e:
            raise ApiError(400, f"after, since, wait and limit must be numbers ({e})") from e
        if math.isnan(wait):  # a NaN deadline is never reached: the poll would never end
            raise ApiError(400, "wait must be a number of seconds, not nan")
        deadline = time.monotonic() + wait
        while True:
            messages = self.hub.upstream(after, limit)
            if messages or time.monotonic() >= deadline:
                next_after = messages[-1][0] if messages else after
                return _json(200, {"messages": [upstream_json(n, m) for n, m in messages], "next": next_after})
            await asyncio.sleep(0.1)

    async def serve(self, host: str, port: int, tls: ssl.SSLContext) -> asyncio.Server:
        return await asyncio.start_server(self._connection, host, port, ssl=tls)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            response = await self._read_and_answer(reader)
            writer.write(format_response(response))
            await writer.drain()
        except (TimeoutError, OSError, ssl.SSLError) as e:
            log.debug("service API connection ended: %s", e)
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()

    async def _read_and_answer(self, reader: asyncio.StreamReader) -> Response:
        buffer = bytearray()
        async with asyncio.timeout(READ_TIMEOUT_S):
            while True:
                try:
                    request = parse_request(buffer)
                except HttpError as e:
                    return _error(400, str(e))
                if request is not None:
                    break
                chunk = await reader.read(65536)
                if not chunk:
                    raise ConnectionResetError("client closed before sending a whole request")
                buffer += chunk
        return await self.handle(request)


def position_since(read: Callable[[int, int], list[tuple[int, Message]]], since: float) -> int:
    """The `after` from which every upstream message was enqueued at or after `since` (inf: the end).

    A binary search over sequence numbers, reading one message per probe, so it
    costs O(log n) reads of a log of up to 100,000 messages.
    """

    def is_recent(after: int) -> bool:
        page = read(after, 1)
        return not page or page[0][1].enqueued_at >= since

    if is_recent(0):
        return 0
    low, high = 0, 1  # invariant: is_recent(low) is False
    while not is_recent(high):
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if is_recent(middle) else (middle, high)
    return high


def upstream_json(sequence: int, message: Message) -> dict[str, Any]:
    """An upstream message as `central monitor` shows it; JSON bodies are parsed, others kept as text."""
    try:
        body: Any = json.loads(message.body)
    except ValueError:
        body = message.body.decode("utf-8", errors="replace")
    return {
        "sequence": sequence,
        "module": message.system.get("connectionModuleId"),
        "output": message.system.get("outputName"),
        "enqueuedTime": datetime.fromtimestamp(message.enqueued_at, UTC).isoformat(timespec="milliseconds"),
        "properties": message.properties,
        "systemProperties": message.system,
        "body": body,
    }
