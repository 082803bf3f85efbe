"""The local edge as `central up` runs it: hub, Azurite, service API and the agent's modules.

`check_ports()` runs first, so a taken port is one clear line; then
`EdgeRuntime.start()` brings the parts up in dependency order, `apply()` takes a new manifest live
without touching unchanged modules, and `stop()` takes everything down in
reverse order. The state dir keeps what must survive (certs, keys, hub.db,
Azurite data, logs); `edge.json` exists only while the edge runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from central.agent import leftovers
from central.agent import plan as planning
from central.agent.azurite import BLOB_PORT, Azurite, ensure_containers
from central.agent.entrypoints import module_command
from central.agent.local_settings import LocalSettings
from central.agent.process import DEFAULT_GRACE_S, ModuleProcess
from central.agent.restart_policy import EDGE_AGENT_TIMING, Timing
from central.agent.supervisor import Supervisor
from central.edge_locator import EDGE_FILE, EdgeInfo, write_edge_info
from central.edge_view import DASHBOARD_PORT, Dashboard, LocalEdgeView
from central.hub.app import METRICS_PORT, MQTT_PORT, WORKLOAD_PORT, Hub
from central.hub.certs import CertPaths
from central.hub.server import server_tls_context
from central.manifest import ModuleSpec
from central.portcheck import ensure_free
from central.service_api import SERVICE_PORT, Identity, ServiceApi

HUB_HOSTNAME = "central-edge.local"
MANIFEST_FILE = "manifest.json"
CONNECT_WAIT_S = 60.0

Progress = Callable[[str], None]


@dataclass(frozen=True)
class EdgeOptions:
    state: Path
    settings: LocalSettings
    modules_dir: Path
    platform: str = "amd64"
    selection: planning.Selection = planning.EVERY_MODULE
    grace_s: float = DEFAULT_GRACE_S
    timing: Timing = EDGE_AGENT_TIMING
    console: TextIO | None = None
    ports: Mapping[str, int] = field(
        default_factory=lambda: {
            "mqtt": MQTT_PORT,
            "workload": WORKLOAD_PORT,
            "metrics": METRICS_PORT,
            "service": SERVICE_PORT,
            "blob": BLOB_PORT,
            "dashboard": DASHBOARD_PORT,
        }
    )

    @property
    def bind(self) -> str:
        return self.settings.bind


def check_ports(options: EdgeOptions) -> None:
    """PortInUseError naming the first port of the edge that is taken on the bind address."""
    for what, port in options.ports.items():
        ensure_free(options.bind, port, what)


def write_manifest(state: Path, manifest: Mapping[str, Any]) -> None:
    tmp = state / (MANIFEST_FILE + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(state / MANIFEST_FILE)


class EdgeRuntime:
    """One running local edge. Create, `await start()`, later `await stop()`."""

    def __init__(self, manifest: dict[str, Any], options: EdgeOptions, progress: Progress = print) -> None:
        self.manifest = manifest
        self.options = options
        self.progress = progress
        self.hub = Hub(manifest, options.bind, options.state, options.settings.device_id, HUB_HOSTNAME)
        self.supervisor = Supervisor(
            self._launch, options.selection, options.timing, options.grace_s, lambda _: self._record_processes()
        )
        self.azurite: Azurite | None = None
        self._service: asyncio.Server | None = None
        self._hub_started = False
        self.dashboard: Dashboard | None = None

    @property
    def placeholders(self) -> dict[str, str]:
        host = self.options.bind
        azurite = self.azurite.connection_string if self.azurite else ""
        return {"AZURITE_CONNECTION_STRING": azurite, "BIND": host, "STATE_DIR": str(self.options.state)}

    async def start(self) -> None:
        """Start every part; on failure the parts already started are stopped again."""
        try:
            await self._start_parts()
        except BaseException:
            await self.stop()
            raise

    async def _start_parts(self) -> None:
        bind, state = self.options.bind, self.options.state
        self.progress(f"starting the hub on {bind} (MQTT {MQTT_PORT})")
        await self.hub.start()
        self._hub_started = True
        blob_port = self.options.ports["blob"]
        self.progress(f"starting Azurite on {bind}:{blob_port} (data in {state / 'azurite'})")
        self.azurite = await Azurite.start(state / "azurite", bind, blob_port, state / "logs" / "azurite.log")
        self._record_processes()
        await ensure_containers(self.azurite.connection_string, self.options.settings.containers)
        self._service = await self._serve_api()
        view = LocalEdgeView(self, asyncio.get_running_loop(), self.azurite.connection_string)
        self.dashboard = Dashboard(view, bind, self.options.ports["dashboard"])
        self._write_module_envs()
        await self._apply_modules(self.manifest)
        write_manifest(state, self.manifest)
        write_edge_info(state, self.info)

    @property
    def info(self) -> EdgeInfo:
        return EdgeInfo(os.getpid(), self.options.bind, self.hub.device_id, HUB_HOSTNAME, dict(self.options.ports))

    async def _serve_api(self) -> asyncio.Server:
        certs = CertPaths.under(self.options.state / "certs")
        port = self.options.ports["service"]
        identity = Identity(self.hub.device_id, f"{self.options.bind}:{port}", self.hub.hub_owner_key)
        api = ServiceApi(self.hub, identity, self.supervisor.reported, self._agent_desired)
        tls = server_tls_context(certs.server_cert, certs.server_key)
        return await api.serve(self.options.bind, port, tls)

    def _record_processes(self) -> None:
        pids = {name: r.status.pid for name, r in self.supervisor.runners.items() if r.status.pid is not None}
        if self.azurite is not None and self.azurite.process.running:
            pids["azurite"] = self.azurite.process.pid
        leftovers.record(self.options.state, pids)

    def _agent_desired(self) -> Mapping[str, Any]:
        return planning.agent_desired(self.manifest)

    async def apply(self, manifest: dict[str, Any]) -> planning.Plan:
        """Take `manifest` live: routes and desired properties in the hub, module changes in the agent."""
        await self.hub.apply_manifest(manifest)
        self.manifest = manifest
        self._write_module_envs()
        plan = await self._apply_modules(manifest)
        write_manifest(self.options.state, manifest)
        return plan

    async def _apply_modules(self, manifest: dict[str, Any]) -> planning.Plan:
        plan = await self.supervisor.apply(manifest)
        await self._wait_connected(plan.start + plan.restart)
        return plan

    async def _wait_connected(self, names: tuple[str, ...]) -> None:
        """Show progress until the started modules connect to the hub (or give up waiting, not running)."""
        started = time.monotonic()
        next_line = started + 5
        while True:
            waiting = [n for n in names if n not in self.hub.connected_modules() and self._running(n)]
            if not waiting or time.monotonic() - started > CONNECT_WAIT_S:
                break
            if time.monotonic() >= next_line:
                self.progress(f"waiting for {', '.join(waiting)} to connect ({time.monotonic() - started:.0f} s)")
                next_line += 5
            await asyncio.sleep(0.1)
        for name in names:
            connected = name in self.hub.connected_modules()
            self.progress(f"{name}: {'connected' if connected else 'not connected (see central logs ' + name + ')'}")

    def _running(self, name: str) -> bool:
        runner = self.supervisor.runners.get(name)
        return runner is not None and runner.status.runtime_status in {"running", "backoff"}

    def module_environment(self, name: str, spec: Mapping[str, Any]) -> dict[str, str]:
        """What edgeAgent gives a module: manifest env, then local overrides, then IOTEDGE_* (not overridable)."""
        return {
            "RuntimeLogLevel": "info",
            "PYTHONUNBUFFERED": "1",  # module output reaches the console line by line, as `docker logs` shows it
            **ModuleSpec.from_entry(name, spec).env,
            **self.options.settings.env_for(name, self.placeholders),
            **self.hub.module_env(name),
        }

    def _write_module_envs(self) -> None:
        """`<state>/modules/<m>.env` with the whole environment, to run a `--skip`ped module by hand."""
        for name, spec in planning.agent_modules(self.manifest).items():
            text = "".join(f"{k}={v}\n" for k, v in self.module_environment(name, spec).items())
            path = self.options.state / "modules" / f"{name}.env"
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            path.chmod(0o600)  # the hub may have created it with the default mode

    async def _launch(self, name: str, spec: Mapping[str, Any]) -> ModuleProcess:
        argv = module_command(self.options.modules_dir, spec, self.options.platform)
        env = {**os.environ, **self.module_environment(name, spec)}
        log_path = self.options.state / "logs" / f"{name}.log"
        return await ModuleProcess.spawn(name, argv, env, log_path, self.options.console)

    async def stop(self) -> None:
        """Modules first (SIGTERM, SIGKILL after the grace period), then the service API, Azurite, the hub.

        Every step runs even when an earlier one fails (the exit stack re-raises afterwards), so a
        failure while stopping modules never leaves Azurite, which runs in its own session, behind.
        """
        async with contextlib.AsyncExitStack() as steps:  # callbacks run last-pushed first
            steps.callback(self._forget_running_state)
            if self._hub_started:
                steps.push_async_callback(self.hub.stop)
            if self.azurite is not None:
                steps.push_async_callback(self.azurite.stop)
            if self._service is not None:
                steps.push_async_callback(self._close_service)
            steps.push_async_callback(self._stop_modules)
            if self.dashboard is not None:
                steps.push_async_callback(self.dashboard.stop)
        self.progress("stopped; state kept in " + str(self.options.state))

    async def _stop_modules(self) -> None:
        self.progress("stopping modules")
        await self.supervisor.shutdown()

    async def _close_service(self) -> None:
        assert self._service is not None
        self._service.close()
        await self._service.wait_closed()

    def _forget_running_state(self) -> None:
        (self.options.state / EDGE_FILE).unlink(missing_ok=True)
        (self.options.state / leftovers.PROCESSES_FILE).unlink(missing_ok=True)
