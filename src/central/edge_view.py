"""The dashboard's view of the running edge (`central.dashboard.view.EdgeView`), and its web server.

Flask serves requests on its own threads while the hub and the agent live on
`central up`'s event loop, so every call that touches them is handed to that
loop (`run_coroutine_threadsafe`) and waited for. Photos are read straight from
Azurite with the blob SDK, on the request's thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobServiceClient

from central.hub.message import Message
from central.hub.methods import MethodError
from central.hub.twins import TwinError

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

    from central.edge_runtime import EdgeRuntime

DASHBOARD_PORT = 8080
PHOTOS_CONTAINER = "photos"
CALL_MARGIN_S = 10.0
T = TypeVar("T")


class LocalEdgeView:
    """EdgeView over an EdgeRuntime running on `loop`."""

    def __init__(self, runtime: EdgeRuntime, loop: asyncio.AbstractEventLoop, blob_connection_string: str) -> None:
        self._runtime = runtime
        self._loop = loop
        self._blobs = BlobServiceClient.from_connection_string(blob_connection_string)

    def _call(self, make: Callable[[], Awaitable[T]], timeout_s: float = 30.0) -> T:
        async def run() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout_s + CALL_MARGIN_S)

    def _on_loop(self, read: Callable[[], T]) -> T:
        async def run() -> T:
            return read()

        return self._call(run)

    def modules(self) -> list[dict[str, Any]]:
        """One row per module: name, status, pid, restart_count, uptime_s, last_exit_code."""

        def rows() -> list[dict[str, Any]]:
            return [
                {
                    "name": name,
                    "status": r.status.runtime_status,
                    "pid": r.status.pid,
                    "restart_count": r.status.restart_count,
                    "uptime_s": r.uptime_s,
                    "last_exit_code": r.status.exit_code,
                }
                for name, r in sorted(self._runtime.supervisor.runners.items())
            ]

        return self._on_loop(rows)

    def control(self, module: str, action: str) -> None:
        self._call(lambda: self._runtime.supervisor.control(module, action), self._runtime.options.grace_s * 2)

    def upstream(self, after: int, limit: int) -> list[tuple[int, Message]]:
        return self._on_loop(lambda: self._runtime.hub.upstream(after, limit))

    def routes(self) -> list[dict[str, Any]]:
        """One row per route of the manifest in force, with the messages it accepted so far."""

        def rows() -> list[dict[str, Any]]:
            desired = self._runtime.manifest["modulesContent"]["$edgeHub"]["properties.desired"]
            accepted = self._runtime.hub.router.accepted_by_route()
            return [route_row(name, value, accepted.get(name, 0)) for name, value in desired["routes"].items()]

        return self._on_loop(rows)

    def twin(self, module: str) -> dict[str, Any]:
        with twin_errors():
            document = self._on_loop(lambda: self._runtime.hub.get_twin(module))
        return {"deviceId": self._runtime.hub.device_id, "moduleId": module, "properties": document}

    def patch_desired(self, module: str, patch: dict[str, Any]) -> dict[str, Any]:
        with twin_errors():
            return self._call(lambda: self._runtime.hub.patch_desired(module, patch))

    def invoke(self, module: str, method: str, payload: Any, timeout_s: int) -> tuple[int, Any]:
        """The module's (status, payload); a call the hub refuses gives its status and message."""
        try:
            return self._call(lambda: self._runtime.hub.invoke_method(module, method, payload, timeout_s), timeout_s)
        except MethodError as e:
            return e.status, {"message": str(e)}

    def photos(self, limit: int) -> list[dict[str, Any]]:
        """Newest first: name, size, last_modified (epoch s)."""
        blobs = self._blobs.get_container_client(PHOTOS_CONTAINER).list_blobs()
        newest = sorted(blobs, key=lambda b: b.last_modified, reverse=True)[:limit]
        return [{"name": b.name, "size": b.size, "last_modified": b.last_modified.timestamp()} for b in newest]

    def photo_bytes(self, blob: str) -> bytes:
        try:
            return self._blobs.get_blob_client(PHOTOS_CONTAINER, blob).download_blob().readall()
        except ResourceNotFoundError as e:
            raise KeyError(blob) from e

    def photo_exists(self, blob: str) -> bool:
        return bool(self._blobs.get_blob_client(PHOTOS_CONTAINER, blob).exists())

    def close(self) -> None:
        self._blobs.close()


@contextmanager
def twin_errors() -> Iterator[None]:
    """The hub's TwinError as the EdgeView protocol says: KeyError for no such twin, else ValueError."""
    try:
        yield
    except TwinError as e:
        raise (KeyError(str(e)) if e.status == 404 else ValueError(str(e))) from e


def route_row(name: str, value: str | Mapping[str, Any], accepted: float) -> dict[str, Any]:
    """A manifest route (string, or object with route/priority/timeToLiveSecs) as a dashboard row."""
    spec = {"route": value} if isinstance(value, str) else value
    return {
        "name": name,
        "route": spec["route"],
        "priority": spec.get("priority", 0),
        "ttl_s": spec.get("timeToLiveSecs", 0),
        "count": int(accepted),
    }


class Dashboard:
    """The dashboard's Flask app on `<bind>:8080`, served from a thread until `stop()`."""

    def __init__(self, view: LocalEdgeView, host: str, port: int = DASHBOARD_PORT) -> None:
        from werkzeug.serving import make_server

        from central.dashboard.app import create_app

        self.view = view
        self.url = f"http://{host}:{port}/"
        self._server: BaseWSGIServer = make_server(host, port, create_app(view), threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="dashboard", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        await asyncio.to_thread(self._server.shutdown)
        self._thread.join()
        self._server.server_close()
        self.view.close()
