"""EdgeModule: one module's client, handlers, settings and lifetime.

It follows the azure-iot-sdk-python edge samples: create the client from the
edge environment, wire input, method and desired-property handlers, run until
SIGTERM, shut the client down in `finally`. Two things are added:

- Handlers run on the module's own event loop. The SDK calls handlers on an
  internal loop in another thread; bridging them back means module code can
  share locks, events and backends without thread-safety surprises.
- The twin drives `Settings`: the full desired document at start, patches after,
  with the effective settings and any rejection reported back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from azure.iot.device import Message, MethodRequest, MethodResponse
from azure.iot.device.aio import IoTHubModuleClient

from edgekit.logs import setup_logging
from edgekit.methods import MethodHandler, MethodRegistry
from edgekit.retry import Backoff
from edgekit.settings import Settings, SettingsChange

log = logging.getLogger(__name__)

InputHandler = Callable[[Message], Awaitable[None]]
SettingsListener = Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]
Task = Callable[[], Coroutine[Any, Any, None]]
StatusProvider = Callable[[], dict[str, Any]]


class EdgeModule:
    def __init__(self, name: str, settings: Settings | None = None) -> None:
        self.name = name
        self.settings = settings or Settings({"properties": {}}, {})
        self.methods = MethodRegistry()
        self.stopping = asyncio.Event()
        self._inputs: dict[str, InputHandler] = {}
        self._listeners: list[SettingsListener] = []
        self._tasks: list[Task] = []
        self._status: list[StatusProvider] = []
        self._client: IoTHubModuleClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listeners_ran = False  # listeners also run once at start, when nothing has changed yet

    # -- wiring (decorators) --------------------------------------------------
    def method(self, name: str, schema: dict[str, Any] | None = None) -> Callable[[MethodHandler], MethodHandler]:
        return self.methods.method(name, schema)

    def input(self, name: str) -> Callable[[InputHandler], InputHandler]:
        def decorate(handler: InputHandler) -> InputHandler:
            self._inputs[name] = handler
            return handler

        return decorate

    def on_settings(self, listener: SettingsListener) -> SettingsListener:
        """`listener(values, changed)` runs after the twin changed some settings (and once at start)."""
        self._listeners.append(listener)
        return listener

    def status(self, provider: StatusProvider) -> StatusProvider:
        """Extra reported properties (backend, counters) sent with every settings report, in the same patch."""
        self._status.append(provider)
        return provider

    def task(self, task: Task) -> Task:
        """A coroutine that runs from connect until stop (timelapse, telemetry loop, upload worker)."""
        self._tasks.append(task)
        return task

    # -- talking to the hub ---------------------------------------------------
    @property
    def client(self) -> IoTHubModuleClient:
        if self._client is None:
            raise RuntimeError(f"module {self.name} is not connected")
        return self._client

    async def send_json(self, output: str, body: Any, properties: dict[str, str] | None = None) -> str:
        """Send `body` as a UTF-8 JSON message on `output`, so routes can filter on `$body`; returns its id."""
        message = Message(
            json.dumps(body, separators=(",", ":")), content_encoding="utf-8", content_type="application/json"
        )
        message.message_id = str(uuid.uuid4())
        message.custom_properties.update(properties or {})
        await self.client.send_message_to_output(message, output)
        return message.message_id

    async def report(self, patch: dict[str, Any]) -> None:
        await self.client.patch_twin_reported_properties(patch)

    # -- lifetime -------------------------------------------------------------
    def run(self) -> None:
        """Entry point for `python -m <module>`: logging, signals, serve, exit 0 on SIGTERM."""
        setup_logging(self.name)
        asyncio.run(self.serve())

    async def serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._loop.add_signal_handler(sig, self.stopping.set)
        self._client = IoTHubModuleClient.create_from_edge_environment()
        try:
            await self._connect()
            # Handlers first, then the twin: a desired patch sent in between is not lost, and the full
            # desired document read afterwards already contains it.
            self._wire_handlers()
            await self._apply_desired((await self.client.get_twin()).get("desired", {}))
            log.info("%s ready: methods %s, inputs %s", self.name, self.methods.names, sorted(self._inputs))
            async with asyncio.TaskGroup() as group:
                for task in self._tasks:
                    group.create_task(self._until_stopped(task))
                await self.stopping.wait()
        finally:
            await self._client.shutdown()
            log.info("%s stopped", self.name)

    async def _until_stopped(self, task: Task) -> None:
        runner = asyncio.ensure_future(task())
        stopper = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not runner.done():
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
        if runner.done() and not runner.cancelled() and runner.exception() is not None:
            raise runner.exception()  # type: ignore[misc]

    async def _connect(self) -> None:
        """Connect, retrying with back-off: under edgeAgent a module may start before edgeHub listens."""
        backoff = Backoff(initial_s=0.5, maximum_s=30.0)
        attempt = 0
        while True:
            try:
                await self.client.connect()
                return
            except Exception as e:
                delay = backoff.delay(attempt)
                log.warning("connect failed (%s); retrying in %.1f s", e, delay)
                attempt += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), delay)
                if self.stopping.is_set():
                    raise

    def _wire_handlers(self) -> None:
        self.client.on_message_received = self._bridge(self._on_input)
        self.client.on_method_request_received = self._bridge(self._on_method)
        self.client.on_twin_desired_properties_patch_received = self._bridge(self._apply_desired)

    def _bridge(self, handler: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
        loop = self._loop
        assert loop is not None

        async def on_sdk_loop(arg: Any) -> None:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(handler(arg), loop))

        return on_sdk_loop

    async def _on_input(self, message: Message) -> None:
        handler = self._inputs.get(message.input_name)
        if handler is None:
            log.warning("message on unknown input %r ignored", message.input_name)
            return
        try:
            await handler(message)
        except Exception:
            log.exception("input %s handler failed", message.input_name)

    async def _on_method(self, request: MethodRequest) -> None:
        status, payload = await self.methods.dispatch(request.name, request.payload)
        log.info("method %s -> %d", request.name, status)
        await self.client.send_method_response(MethodResponse.create_from_method_request(request, status, payload))

    async def _apply_desired(self, desired: dict[str, Any]) -> None:
        change: SettingsChange = self.settings.apply(desired)
        for name, reason in change.rejected.items():
            log.warning("setting %s rejected: %s", name, reason)
        if change.changed or not self._listeners_ran:
            for listener in self._listeners:
                try:
                    await listener(self.settings.values, change.changed)
                except Exception:
                    log.exception("settings listener failed")
            self._listeners_ran = True
        reported = self.settings.reported()
        for provider in self._status:
            reported.update(provider())
        await self.report(reported)
