"""The agent: run every desired module as a process, restart it as edgeAgent would.

One `ModuleRunner` task per module owns that module's life (spawn, wait, decide,
back off, spawn again); the `Supervisor` owns the runners and applies manifests
through `plan.diff`, so unchanged modules are never touched. How a module is
started (command, environment) is the `Launcher`'s job, given by the caller.
The state of every module is kept in `$edgeAgent` reported-property shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from central.agent import plan as planning
from central.agent.process import DEFAULT_GRACE_S, ModuleProcess
from central.agent.restart_policy import EDGE_AGENT_TIMING, Timing, decide, parse_policy

log = logging.getLogger(__name__)

Launcher = Callable[[str, Mapping[str, Any]], Awaitable[ModuleProcess]]
StatusListener = Callable[[dict[str, Any]], None]


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class ModuleStatus:
    """One module's runtime state, named as in `$edgeAgent` reported properties."""

    runtime_status: str = "unknown"
    status_description: str = ""
    pid: int | None = None
    restart_count: int = 0
    exit_code: int | None = None
    last_start_time_utc: str | None = None
    last_exit_time_utc: str | None = None
    last_restart_time_utc: str | None = None

    def reported(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "runtimeStatus": self.runtime_status,
            "statusDescription": self.status_description,
            "pid": self.pid,
            "restartCount": self.restart_count,
            "exitCode": self.exit_code,
            "lastStartTimeUtc": self.last_start_time_utc,
            "lastExitTimeUtc": self.last_exit_time_utc,
            "lastRestartTimeUtc": self.last_restart_time_utc,
            "status": spec.get("status", "running"),
            "restartPolicy": spec.get("restartPolicy", "always"),
            "version": spec.get("version", ""),
            "settings": {"image": spec.get("settings", {}).get("image", "")},
        }


class ModuleRunner:
    """Runs one module until it is stopped or its restart policy gives up."""

    def __init__(
        self, name: str, spec: Mapping[str, Any], launch: Launcher, timing: Timing, changed: Callable[[], None]
    ):
        self.name = name
        self.spec = spec
        self.status = ModuleStatus()
        self._policy = parse_policy(spec.get("restartPolicy"))
        self._launch = launch
        self._timing = timing
        self._changed = changed
        self._process: ModuleProcess | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        """Running, or waiting out a back-off before running again."""
        return self.status.runtime_status in {"running", "backoff"}

    @property
    def uptime_s(self) -> float | None:
        process = self._process
        return time.monotonic() - process.started_at if process is not None and process.running else None

    async def start(self) -> None:
        """Spawn the first process, then keep the module running in a background task."""
        started = await self._spawn()
        self._task = asyncio.create_task(self._supervise(started), name=f"runner:{self.name}")

    async def _spawn(self) -> bool:
        try:
            self._process = await self._launch(self.name, self.spec)
        except (OSError, ValueError) as e:
            self._set(runtime_status="failed", status_description=f"could not start: {e}", pid=None)
            log.error("%s: could not start: %s", self.name, e)
            return False
        self._set(
            runtime_status="running",
            status_description="running",
            pid=self._process.pid,
            last_start_time_utc=_utc_now(),
        )
        return True

    async def _supervise(self, started: bool) -> None:
        while started:
            assert self._process is not None
            exit_code = await self._process.wait()
            ran_for = time.monotonic() - self._process.started_at
            if self._stopping:
                self._set(runtime_status="stopped", status_description="stopped", pid=None, exit_code=exit_code)
                return
            d = decide(self._policy, exit_code, self.status.restart_count, ran_for, self._timing)
            self._set(pid=None, exit_code=exit_code, last_exit_time_utc=_utc_now(), restart_count=d.restart_count)
            if not d.restart:
                self._set(runtime_status=d.final_status.value, status_description=f"exited with {exit_code}")
                log.info("%s exited with %d; %s", self.name, exit_code, d.final_status.value)
                return
            self._set(runtime_status="backoff", status_description=f"restarting in {d.delay_s:g} s")
            log.info("%s exited with %d; restart %d in %g s", self.name, exit_code, d.restart_count, d.delay_s)
            await asyncio.sleep(d.delay_s)
            started = await self._spawn()
            if started:
                self._set(last_restart_time_utc=self.status.last_start_time_utc)

    async def stop(self, grace_s: float) -> None:
        """Stop the module for good: SIGTERM, SIGKILL after `grace_s`, no restart."""
        self._stopping = True
        if self._process is not None and self._process.running:
            await self._process.stop(grace_s)
        if self._task is not None:
            if not self._task.done():
                self._task.cancel()  # it was sleeping in back-off
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._process is not None and self._process.running:  # spawned while we were cancelling
            await self._process.stop(grace_s)
        self._set(runtime_status="stopped", status_description="stopped", pid=None)

    def _set(self, **fields: Any) -> None:
        for key, value in fields.items():
            setattr(self.status, key, value)
        self._changed()


class Supervisor:
    """Applies manifests to the set of running modules and reports their status."""

    def __init__(
        self,
        launch: Launcher,
        selection: planning.Selection = planning.EVERY_MODULE,
        timing: Timing = EDGE_AGENT_TIMING,
        grace_s: float = DEFAULT_GRACE_S,
        on_status: StatusListener | None = None,
    ):
        self._launch = launch
        self._selection = selection
        self._timing = timing
        self._grace_s = grace_s
        self._on_status = on_status
        self._runners: dict[str, ModuleRunner] = {}
        self._manifest: Mapping[str, Any] | None = None
        self._started_at = _utc_now()

    @property
    def runners(self) -> Mapping[str, ModuleRunner]:
        return self._runners

    async def apply(self, manifest: Mapping[str, Any]) -> planning.Plan:
        """Bring the running modules to `manifest`; unchanged modules keep running untouched."""
        plan = planning.diff(self._manifest, manifest, self._selection)
        wanted = planning.wants_running(manifest, self._selection)
        await self._stop(plan.stop + plan.restart)
        self._manifest = manifest
        for name in planning.startup_order(wanted, plan.restart + plan.start):
            log.info("starting %s", name)
            runner = ModuleRunner(name, wanted[name], self._launch, self._timing, self._report)
            self._runners[name] = runner
            await runner.start()
        for name in plan.unchanged:
            self._runners[name].spec = wanted[name]  # e.g. a new startupOrder
        self._report()
        return plan

    async def control(self, name: str, action: str) -> None:
        """Start, stop or restart one module of the manifest in force (the dashboard's buttons).

        A module stopped this way stays stopped, and listed, until started again.
        """
        specs = planning.wants_running(self._manifest, self._selection)
        if name not in specs:
            raise ValueError(f"module {name!r} is not a running module of the manifest")
        if action not in {"start", "stop", "restart"}:
            raise ValueError(f"action {action!r} is not start, stop or restart")
        runner = self._runners.get(name)
        if runner is not None and action in {"stop", "restart"}:
            log.info("%s %s", "stopping" if action == "stop" else "restarting", name)
            await runner.stop(self._grace_s)
        if action in {"start", "restart"} and (runner is None or not runner.active):
            self._runners[name] = ModuleRunner(name, specs[name], self._launch, self._timing, self._report)
            await self._runners[name].start()
        self._report()

    async def shutdown(self) -> None:
        """Stop every module at once, each with the grace period."""
        await self._stop(tuple(self._runners))

    async def _stop(self, names: tuple[str, ...]) -> None:
        runners = [self._runners.pop(n) for n in names if n in self._runners]
        for runner in runners:
            log.info("stopping %s", runner.name)
        await asyncio.gather(*(r.stop(self._grace_s) for r in runners))
        self._report()

    def reported(self) -> dict[str, Any]:
        """The `$edgeAgent` reported properties for the modules this agent runs."""
        return {
            "schemaVersion": "1.1",
            "lastDesiredStatus": {"code": 200, "description": ""},
            "systemModules": {
                "edgeAgent": {"runtimeStatus": "running", "lastStartTimeUtc": self._started_at},
                "edgeHub": {"runtimeStatus": "running", "lastStartTimeUtc": self._started_at},
            },
            "modules": {n: r.status.reported(r.spec) for n, r in sorted(self._runners.items())},
        }

    def _report(self) -> None:
        if self._on_status is not None:
            self._on_status(self.reported())
