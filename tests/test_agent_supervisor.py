"""The agent against real child processes: restarts, back-off, stop, manifest changes.

Modules here are tiny Python scripts (the script text is the module's `SCRIPT`
env value); the restart timing is shrunk so back-off takes tenths of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psutil
import pytest

from central.agent.process import ModuleProcess
from central.agent.restart_policy import Timing
from central.agent.supervisor import Supervisor

pytestmark = pytest.mark.slow

FAST = Timing(base_backoff_s=0.3, max_backoff_s=1.0, max_restarts=3, reset_after_s=60)

SLEEPER = "import time\nprint('hello from', __import__('os').getpid(), flush=True)\nwhile True: time.sleep(1)"
STUBBORN = (
    "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(600)"
)
WITH_CHILD = (
    "import subprocess, sys, time\n"
    "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
    "print('child', c.pid, flush=True)\ntime.sleep(600)"
)


def module(script: str, policy: str = "always", order: int = 0, tag: str = "1") -> dict[str, Any]:
    return {
        "version": tag,
        "status": "running",
        "restartPolicy": policy,
        "startupOrder": order,
        "settings": {"image": f"test:{tag}"},
        "env": {"SCRIPT": {"value": script}},
    }


def manifest(**modules: dict[str, Any]) -> dict[str, Any]:
    return {"modulesContent": {"$edgeAgent": {"properties.desired": {"modules": modules}}}}


SPAWNED: list[int] = []  # per xdist worker process


@pytest.fixture(autouse=True)
def no_module_left_behind() -> Iterator[None]:
    """A test that fails never reaches its shutdown(); modules run in their own sessions, so end them here."""
    yield
    for pid in SPAWNED:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    SPAWNED.clear()


def make_launcher(tmp_path: Path, console: io.StringIO | None = None) -> Callable[..., Any]:
    async def launch(name: str, spec: Mapping[str, Any]) -> ModuleProcess:
        argv = [sys.executable, "-c", spec["env"]["SCRIPT"]["value"]]
        process = await ModuleProcess.spawn(name, argv, dict(os.environ), tmp_path / "logs" / f"{name}.log", console)
        SPAWNED.append(process.pid)
        return process

    return launch


async def eventually(check: Callable[[], bool], within_s: float = 15.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def status(sup: Supervisor, name: str) -> dict[str, Any]:
    return sup.reported()["modules"][name]


def test_sigkilled_module_is_restarted_after_backoff(tmp_path: Path) -> None:
    async def scenario() -> None:
        sup = Supervisor(make_launcher(tmp_path), timing=FAST, grace_s=2)
        await sup.apply(manifest(m=module(SLEEPER)))
        first = status(sup, "m")["pid"]
        killed_at = time.monotonic()
        os.kill(first, signal.SIGKILL)
        await eventually(lambda: status(sup, "m")["runtimeStatus"] == "backoff")
        await eventually(lambda: status(sup, "m")["runtimeStatus"] == "running")
        assert time.monotonic() - killed_at >= FAST.base_backoff_s
        st = status(sup, "m")
        assert (st["restartCount"], st["exitCode"]) == (1, 128 + signal.SIGKILL)
        assert st["pid"] != first and alive(st["pid"])
        await sup.shutdown()
        assert not alive(st["pid"])

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("script", "policy", "final", "code"),
    [
        ("raise SystemExit(0)", "on-failure", "stopped", 0),
        ("raise SystemExit(3)", "never", "failed", 3),
        ("raise SystemExit(0)", "never", "stopped", 0),
    ],
)
def test_module_that_ends_is_not_restarted_unless_policy_says(
    tmp_path: Path, script: str, policy: str, final: str, code: int
) -> None:
    async def scenario() -> None:
        sup = Supervisor(make_launcher(tmp_path), timing=FAST)
        await sup.apply(manifest(m=module(script, policy)))
        await eventually(lambda: status(sup, "m")["runtimeStatus"] == final)
        await asyncio.sleep(FAST.base_backoff_s * 2)
        st = status(sup, "m")
        assert (st["runtimeStatus"], st["exitCode"], st["restartCount"]) == (final, code, 0)
        await sup.shutdown()

    asyncio.run(scenario())


def test_crash_loop_gives_up_after_max_restarts(tmp_path: Path) -> None:
    async def scenario() -> None:
        sup = Supervisor(make_launcher(tmp_path), timing=FAST)
        await sup.apply(manifest(m=module("raise SystemExit(1)", "always")))
        await eventually(lambda: status(sup, "m")["runtimeStatus"] == "failed")
        assert status(sup, "m")["restartCount"] == FAST.max_restarts
        await sup.shutdown()

    asyncio.run(scenario())


def test_shutdown_kills_module_that_ignores_sigterm_and_its_children(tmp_path: Path) -> None:
    console = io.StringIO()

    async def scenario() -> list[int]:
        sup = Supervisor(make_launcher(tmp_path, console), timing=FAST, grace_s=0.5)
        await sup.apply(manifest(stubborn=module(STUBBORN), parent=module(WITH_CHILD)))
        await eventually(lambda: "stubborn | ready" in console.getvalue() and "parent | child" in console.getvalue())
        child = int(console.getvalue().split("parent | child ")[1].split()[0])
        pids = [status(sup, "stubborn")["pid"], status(sup, "parent")["pid"], child]
        assert all(alive(p) for p in pids)
        await sup.shutdown()
        return pids

    pids = asyncio.run(scenario())
    assert not any(alive(p) for p in pids)
    assert "ready" in (tmp_path / "logs" / "stubborn.log").read_text()


def test_changed_manifest_restarts_only_changed_modules(tmp_path: Path) -> None:
    async def scenario() -> None:
        sup = Supervisor(make_launcher(tmp_path), timing=FAST, grace_s=2)
        await sup.apply(manifest(a=module(SLEEPER), b=module(SLEEPER), c=module(SLEEPER)))
        before = {n: status(sup, n)["pid"] for n in "abc"}
        plan = await sup.apply(manifest(a=module(SLEEPER), b=module(SLEEPER, tag="2"), d=module(SLEEPER)))
        assert (plan.unchanged, plan.restart, plan.start, plan.stop) == (("a",), ("b",), ("d",), ("c",))
        after = sup.reported()["modules"]
        assert after["a"]["pid"] == before["a"]
        assert after["b"]["pid"] != before["b"] and after["b"]["settings"]["image"] == "test:2"
        assert "c" not in after and not alive(before["c"]) and not alive(before["b"])
        await sup.shutdown()
        assert not any(alive(after[n]["pid"]) for n in "abd")

    asyncio.run(scenario())


def test_status_listener_sees_every_change(tmp_path: Path) -> None:
    seen: list[str] = []

    async def scenario() -> None:
        sup = Supervisor(
            make_launcher(tmp_path),
            timing=FAST,
            on_status=lambda r: seen.append(r["modules"].get("m", {}).get("runtimeStatus", "-")),
        )
        await sup.apply(manifest(m=module("raise SystemExit(0)", "on-failure")))
        await eventually(lambda: seen[-1] == "stopped")
        await sup.shutdown()

    asyncio.run(scenario())
    assert seen.index("running") < seen.index("stopped")
    assert seen[-1] == "-"  # a module the agent no longer runs leaves the report


def test_control_stops_starts_and_restarts_one_module(tmp_path: Path) -> None:
    async def scenario() -> None:
        sup = Supervisor(make_launcher(tmp_path), timing=FAST, grace_s=2)
        await sup.apply(manifest(a=module(SLEEPER), b=module(SLEEPER)))
        first, other = status(sup, "a")["pid"], status(sup, "b")["pid"]
        await sup.control("a", "stop")
        assert status(sup, "a")["runtimeStatus"] == "stopped" and not alive(first)
        await sup.control("a", "start")
        second = status(sup, "a")["pid"]
        assert status(sup, "a")["runtimeStatus"] == "running" and alive(second)
        await sup.control("a", "start")  # already running: nothing happens
        assert status(sup, "a")["pid"] == second
        await sup.control("a", "restart")
        assert status(sup, "a")["pid"] not in (first, second) and not alive(second)
        assert status(sup, "b")["pid"] == other
        with pytest.raises(ValueError, match="'c' is not a running module"):
            await sup.control("c", "start")
        with pytest.raises(ValueError, match="'pause' is not start"):
            await sup.control("a", "pause")
        await sup.shutdown()

    asyncio.run(scenario())


def test_output_line_over_the_limit_is_dropped_and_the_copy_goes_on(tmp_path: Path) -> None:
    script = "print('x' * 300_000)\nprint('after', flush=True)"  # more than a pipe holds: it blocks unless read

    async def scenario() -> int:
        launch = make_launcher(tmp_path)
        process = await launch("long", module(script))
        return await asyncio.wait_for(process.wait(), 30)

    assert asyncio.run(scenario()) == 0
    log = (tmp_path / "logs" / "long.log").read_text()
    assert "longer than 65536 bytes; it was dropped" in log and log.endswith("after\n")


def test_module_log_is_rotated_keeping_one_older_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ModuleProcess, "log_max_bytes", 2000)
    script = "for n in range(200):\n    print(f'line {n:03d} ' + 'x' * 30, flush=True)"

    async def scenario() -> int:
        launch = make_launcher(tmp_path)
        process = await launch("chatty", module(script))
        return await asyncio.wait_for(process.wait(), 30)

    assert asyncio.run(scenario()) == 0
    current = (tmp_path / "logs" / "chatty.log").read_text().splitlines()
    older = (tmp_path / "logs" / "chatty.log.1").read_text().splitlines()
    assert len("\n".join(older)) <= 2000 + 50  # rotated at the first line past the limit
    assert len("\n".join(current)) < 2000
    numbers = [int(line.split()[1]) for line in older + current]
    assert numbers[0] > 0  # the oldest lines were rotated away
    assert numbers == list(range(numbers[0], 200))  # the newest lines, in order, none lost between the files
