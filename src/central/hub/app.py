"""`Hub`: the local edgeHub assembled from its parts, and the internal API others call.

It owns the state dir's hub files (certs/, keys.json, modules/*.env, hub.db), the three
listeners on the bind address (MQTT/TLS 8883, workload API 15580, /metrics 9600) and
every task it starts (one task group). Session events are dispatched here: telemetry to
the router (PUBACK once durable, in the order received), twin requests to the twin
store, method responses to the waiting caller.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from central.hub import session as s
from central.hub.auth import KeyStore
from central.hub.certs import ensure_certs
from central.hub.connections import Connections, SubscriptionStore
from central.hub.http import Request, Response
from central.hub.message import Message
from central.hub.methods import MethodError, PendingCalls, parse_response, prepare_call
from central.hub.pubacks import OrderedPubAcks
from central.hub.router import Router
from central.hub.server import MqttLink, serve_http, serve_mqtt, server_tls_context
from central.hub.store import MessageStore
from central.hub.topics import (
    Subscription,
    desired_patch_topic,
    input_topic,
    method_request_topic,
    twin_response_topic,
)
from central.hub.twins import TwinError, TwinStore
from central.hub.workload import API_VERSION, WorkloadApi, generation_id
from central.routing import RouteTable

log = logging.getLogger(__name__)

MQTT_PORT, WORKLOAD_PORT, METRICS_PORT = 8883, 15580, 9600
DELIVERY_TIMEOUT_S = 30.0
STOP_GRACE_S = 3.0


def _desired(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    """`modulesContent.<name>["properties.desired"]`, or ValueError naming what is missing."""
    content = manifest.get("modulesContent", manifest)
    section = content.get(name, {}) if isinstance(content, dict) else None
    desired = section.get("properties.desired", {}) if isinstance(section, dict) else None
    if not isinstance(desired, dict):
        raise ValueError(f'manifest: modulesContent.{name}["properties.desired"] must be an object')
    return desired


def manifest_modules(manifest: dict[str, Any]) -> list[str]:
    modules = _desired(manifest, "$edgeAgent").get("modules", {})
    if not isinstance(modules, dict):
        raise ValueError('manifest: $edgeAgent["properties.desired"].modules must be an object')
    return sorted(modules)


class Hub:
    """The local edgeHub: protocol head, workload API, router, twins and direct methods."""

    def __init__(
        self,
        manifest: dict[str, Any],
        bind: str,
        state_dir: Path,
        device_id: str = "edge-local",
        hub_hostname: str = "central-edge.local",
    ) -> None:
        self.manifest = manifest
        self.bind = bind
        self.state_dir = Path(state_dir)
        self.device_id = device_id
        self.hub_hostname = hub_hostname
        self.modules = manifest_modules(manifest)
        self.keys = KeyStore(self.state_dir / "keys.json")
        self.keys.ensure(self.modules)
        db = self.state_dir / "hub.db"
        self.twins = TwinStore(db)
        self.connections = Connections(self.keys, SubscriptionStore(db), device_id, hub_hostname)
        self.connections.modules = frozenset(self.modules)
        self.router = Router(MessageStore(db), RouteTable.from_edgehub(_desired(manifest, "$edgeHub")))
        self._pending: PendingCalls[asyncio.Future[tuple[int, object]]] = PendingCalls()
        self._servers: list[asyncio.Server] = []
        self._accepting: dict[int, OrderedPubAcks] = {}
        self._serving: set[asyncio.Task[None]] = set()

    @property
    def hub_owner_key(self) -> str:
        return self.keys.hub_owner_key

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on the bind address; on failure (say, a port in use) release what was taken."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        certs = ensure_certs(self.state_dir / "certs", self.bind)
        for module in self.modules:
            self.twins.seed(module, _desired(self.manifest, module))
            self._write_env(module)
        await self.router.start()
        workload = WorkloadApi(self.keys, certs.ca_cert.read_text())
        tls = server_tls_context(certs.server_cert, certs.server_key)
        self._servers.append(
            await serve_mqtt(self.bind, MQTT_PORT, tls, self.connections, self._on_events, self._serving)
        )
        self._servers.append(await serve_http(self.bind, WORKLOAD_PORT, workload.handle, self._serving))
        self._servers.append(await serve_http(self.bind, METRICS_PORT, self._metrics, self._serving))
        log.info(
            "hub listening on %s (mqtts %d, workload %d, metrics %d)", self.bind, MQTT_PORT, WORKLOAD_PORT, METRICS_PORT
        )

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for module, link in list(self.connections.links.items()):
            link.close(f"hub stopping ({module})")
        await self._end_connections()
        for server in self._servers:
            await server.wait_closed()
        await self.router.stop()
        self.router.store.close()
        self.twins.close()
        self.connections.subscriptions.close()
        log.info("hub stopped")

    async def _end_connections(self) -> None:
        """Give closed connections a moment to say goodbye over TLS, then cancel what is left."""
        if self._serving:
            _, lingering = await asyncio.wait(set(self._serving), timeout=STOP_GRACE_S)
            for task in lingering:
                task.cancel()
            if lingering:
                await asyncio.wait(lingering)

    # ------------------------------------------------------------ environment

    def module_env(self, module: str) -> dict[str, str]:
        """The IOTEDGE_* variables edgeAgent would give `module` (what create_from_edge_environment reads)."""
        key = self.keys.key_for(module)
        if key is None:
            raise KeyError(f"module {module!r} is not in the manifest")
        return {
            "IOTEDGE_WORKLOADURI": f"http://{self.bind}:{WORKLOAD_PORT}/",
            "IOTEDGE_APIVERSION": API_VERSION,
            "IOTEDGE_AUTHSCHEME": "sasToken",
            "IOTEDGE_MODULEGENERATIONID": generation_id(key),
            "IOTEDGE_IOTHUBHOSTNAME": self.hub_hostname,
            "IOTEDGE_GATEWAYHOSTNAME": self.bind,
            "IOTEDGE_DEVICEID": self.device_id,
            "IOTEDGE_MODULEID": module,
        }

    def _write_env(self, module: str) -> None:
        path = self.state_dir / "modules" / f"{module}.env"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{k}={v}\n" for k, v in self.module_env(module).items()))

    # ------------------------------------------------------------ internal API

    def connected_modules(self) -> set[str]:
        return set(self.connections.links)

    def get_twin(self, module: str) -> dict[str, Any]:
        """`{"desired": {..., "$version"}, "reported": {..., "$version"}}`; TwinError 404 if unknown."""
        return self.twins.get(module).document()

    async def patch_desired(self, module: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Merge a desired patch, push it to the module if it listens, and return the whole twin."""
        self._push_desired(module, self.twins.patch_desired(module, patch))
        return self.get_twin(module)

    def _push_desired(self, module: str, patch: dict[str, Any]) -> None:
        link = self.connections.subscribed(module, Subscription.DESIRED_PATCHES)
        if link is not None:
            link.publish(desired_patch_topic(patch["$version"]), json.dumps(patch).encode())

    async def invoke_method(
        self, module: str, method: str, payload: object, timeout_s: float = 30
    ) -> tuple[int, object]:
        """The module's (status, payload); MethodError 400/404/413/504 when it cannot answer."""
        call = prepare_call(method, payload, timeout_s)
        link = self.connections.subscribed(module, Subscription.METHODS)
        if link is None:
            raise MethodError(404, f"module {module!r} is not connected or not listening for methods")
        future: asyncio.Future[tuple[int, object]] = asyncio.get_running_loop().create_future()
        rid = self._pending.add(module, future)
        link.publish(method_request_topic(call.method, rid), call.payload)
        try:
            async with asyncio.timeout(call.timeout_s):
                return await future
        except TimeoutError as e:
            raise MethodError(504, f"module {module!r} did not answer {method!r} in {timeout_s} s") from e
        finally:
            self._pending.pop(module, rid)

    def upstream(self, after: int = 0, limit: int = 100) -> list[tuple[int, Message]]:
        return self.router.upstream(after, limit)

    async def apply_manifest(self, manifest: dict[str, Any]) -> None:
        """Take a new manifest live: modules, routes and desired properties."""
        modules = manifest_modules(manifest)
        routes = RouteTable.from_edgehub(_desired(manifest, "$edgeHub"))
        self.keys.ensure(modules)
        self.manifest, self.modules = manifest, modules
        self.connections.modules = frozenset(modules)
        self.router.update(routes)
        for module in modules:
            self._write_env(module)
            patch = self.twins.seed(module, _desired(manifest, module))
            if patch is not None:
                self._push_desired(module, patch)
        for module, link in list(self.connections.links.items()):
            if module not in self.connections.modules:
                link.close(f"module {module!r} left the manifest")

    def _metrics(self, request: Request) -> Response:
        if request.path != "/metrics":
            return Response(404, b"not found\n", {"Content-Type": "text/plain"})
        connected = self.connections.links
        lines = [
            "# HELP edgehub_connected_modules Modules connected to the hub.",
            "# TYPE edgehub_connected_modules gauge",
            f"edgehub_connected_modules {len(connected)}",
            "# HELP edgehub_module_connected 1 while the module is connected.",
            "# TYPE edgehub_module_connected gauge",
            *(f'edgehub_module_connected{{module="{m}"}} {int(m in connected)}' for m in self.modules),
        ]
        body = self.router.metrics_text().rstrip("\n") + "\n" + "\n".join(lines) + "\n"
        return Response(200, body.encode(), {"Content-Type": "text/plain; version=0.0.4"})

    # ------------------------------------------------------------ session events

    def _on_events(self, link: MqttLink, events: list[s.Event]) -> None:
        for event in events:
            self._handlers[type(event)](self, link, event)

    def _on_connected(self, link: MqttLink, event: s.Connected) -> None:
        module = event.identity.module_id
        self.connections.add(module, link)
        log.info("module %s connected from %s (session present: %s)", module, link.peer, bool(event.subscriptions))
        if Subscription.INPUTS in event.subscriptions:
            self._attach(module, link)

    def _on_closed(self, link: MqttLink, event: s.Closed) -> None:
        identity = link.session.identity
        if identity is None:
            log.warning("connection from %s closed: %s", link.peer, event.reason)
            return
        log.info("module %s disconnected: %s", identity.module_id, event.reason)
        if self.connections.remove(identity.module_id, link):
            self.router.detach(identity.module_id)
        acks = self._accepting.pop(id(link), None)
        if acks is not None:
            acks.close()
        for waiter in self._pending.for_module(identity.module_id):
            if not waiter.done():
                waiter.set_exception(MethodError(404, f"module {identity.module_id!r} disconnected"))

    def _on_subscribed(self, link: MqttLink, event: s.Subscribed) -> None:
        module = self._module(link)
        self.connections.subscriptions.add(module, event.added)
        if Subscription.INPUTS in event.added:
            self._attach(module, link)

    def _on_unsubscribed(self, link: MqttLink, event: s.Unsubscribed) -> None:
        module = self._module(link)
        self.connections.subscriptions.remove(module, event.removed)
        if Subscription.INPUTS in event.removed:
            self.router.detach(module)

    def _on_telemetry(self, link: MqttLink, event: s.TelemetryReceived) -> None:
        module = self._module(link)
        output = event.telemetry.system.get("outputName")
        message = Message(
            body=event.body,
            properties=dict(event.telemetry.properties),
            system={**event.telemetry.system, "connectionDeviceId": self.device_id, "connectionModuleId": module},
            source=f"/messages/modules/{module}/outputs/{output}" if output else f"/messages/modules/{module}",
            enqueued_at=time.time(),
        )
        acks = self._accepting.get(id(link))
        if acks is None:
            acks = self._accepting[id(link)] = OrderedPubAcks(
                link.acknowledge, functools.partial(self._not_stored, link)
            )
        try:
            stored = self.router.submit(message)
        except Exception as e:
            acks.close()
            self._not_stored(link, message.source, e)
            return
        acks.add(event.packet_id, stored, message.source)

    @staticmethod
    def _not_stored(link: MqttLink, source: str, error: BaseException) -> None:
        """The message is not durable, so it is never acknowledged: the module sends it again."""
        log.error("message from %s not accepted", source, exc_info=error)
        link.close(f"message could not be stored: {error}")

    def _on_twin_get(self, link: MqttLink, event: s.TwinGetRequested) -> None:
        try:
            document = self.get_twin(self._module(link))
        except TwinError as e:
            link.publish(twin_response_topic(e.status, event.rid), json.dumps({"message": str(e)}).encode())
            return
        link.publish(twin_response_topic(200, event.rid), json.dumps(document).encode())

    def _on_reported_patch(self, link: MqttLink, event: s.ReportedPatchReceived) -> None:
        try:
            version = self.twins.patch_reported(self._module(link), event.body)
        except TwinError as e:
            log.warning("reported patch from %s refused: %s", self._module(link), e)
            link.publish(twin_response_topic(e.status, event.rid), json.dumps({"message": str(e)}).encode())
            return
        link.publish(twin_response_topic(204, event.rid, version), b"")

    def _on_method_response(self, link: MqttLink, event: s.MethodResponded) -> None:
        waiter = self._pending.pop(self._module(link), event.rid)
        if waiter is None or waiter.done():
            log.warning("method response %s from %s matches no pending call", event.rid, self._module(link))
            return
        waiter.set_result((event.status, parse_response(event.body)))

    def _on_delivered(self, link: MqttLink, event: s.Delivered) -> None:
        self.connections.delivered(link, event.packet_id)

    def _attach(self, module: str, link: MqttLink) -> None:
        def deliver(input_name: str, message: Message) -> asyncio.Future[None]:
            """Publish now; the future completes on the module's PUBACK (no task per message)."""
            topic = input_topic(self.device_id, module, input_name, message.system, message.properties)
            return self.connections.publish_awaiting_ack(link, topic, message.body, DELIVERY_TIMEOUT_S)

        self.router.attach(module, deliver)

    @staticmethod
    def _module(link: MqttLink) -> str:
        assert link.session.identity is not None
        return link.session.identity.module_id

    _handlers: ClassVar[dict[type, Callable[[Hub, MqttLink, Any], None]]] = {
        s.Connected: _on_connected,
        s.Closed: _on_closed,
        s.Subscribed: _on_subscribed,
        s.Unsubscribed: _on_unsubscribed,
        s.TelemetryReceived: _on_telemetry,
        s.TwinGetRequested: _on_twin_get,
        s.ReportedPatchReceived: _on_reported_patch,
        s.MethodResponded: _on_method_response,
        s.Delivered: _on_delivered,
    }
