"""`central up` end to end: a real edge (hub, Azurite, service API, agent) on its own loopback address.

Modules are `tests.agent_modules.echo` (the real azure-iot-device SDK), declared
the way a solution declares them: a module.json and a Dockerfile whose CMD is
`python -m ...`. Operator commands run as `python -m central ...` subprocesses,
going through the azure-iot-hub SDK and the service API.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from tests.agent_modules import terminate
from tests.fixtures.edge import REPO, LocalEdge, alive, wait_for
from tests.fixtures.network import free_loopback

pytestmark = pytest.mark.slow

IMAGE = "localhost:5000/echo:0.1.0-amd64"


def echo_module(order: int, **env: str) -> dict[str, Any]:
    return {
        "version": "1.0",
        "type": "docker",
        "status": "running",
        "restartPolicy": "always",
        "startupOrder": order,
        "settings": {"image": IMAGE, "createOptions": "{}"},
        "env": {k: {"value": v} for k, v in env.items()},
    }


def manifest(**modules: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = {
        "$edgeAgent": {
            "properties.desired": {
                "schemaVersion": "1.1",
                "runtime": {"type": "docker", "settings": {}},
                "systemModules": {
                    "edgeAgent": {"type": "docker", "settings": {"image": "mcr.microsoft.com/azureiotedge-agent:1.5"}},
                    "edgeHub": {
                        "type": "docker",
                        "status": "running",
                        "restartPolicy": "always",
                        "settings": {"image": "mcr.microsoft.com/azureiotedge-hub:1.5"},
                    },
                },
                "modules": modules,
            }
        },
        "$edgeHub": {
            "properties.desired": {
                "schemaVersion": "1.2",
                "routes": {"toCloud": "FROM /messages/modules/* INTO $upstream"},
                "storeAndForwardConfiguration": {"timeToLiveSecs": 7200},
            }
        },
    }
    content.update({name: {"properties.desired": {"level": 1}} for name in modules})
    return {"modulesContent": content}


def write_solution(root: Path, bind: str) -> None:
    folder = root / "modules" / "echo"
    folder.mkdir(parents=True)
    platforms = {"amd64": "./Dockerfile.amd64"}
    meta = {
        "image": {
            "repository": "${CONTAINER_REGISTRY_SERVER}/echo",
            "tag": {"version": "0.1.0", "platforms": platforms},
        }
    }
    (folder / "module.json").write_text(json.dumps(meta))
    (folder / "Dockerfile.amd64").write_text(
        'FROM python:3.11-slim\nCMD ["python", "-m", "tests.agent_modules.echo"]\n'
    )
    (root / "central.local.toml").write_text(f'bind = "{bind}"\n')


def echo_edge(root: Path) -> LocalEdge:
    """A local edge whose solution is the echo module, on a fresh loopback address."""
    bind = free_loopback()
    write_solution(root, bind)
    return LocalEdge(root, bind, root / "modules")


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[LocalEdge]:
    local = echo_edge(tmp_path)
    local.start(manifest(alpha=echo_module(1), beta=echo_module(2)))
    pids = local.descendants()
    try:
        yield local
    finally:
        local.stop(pids)


def test_status_invoke_twin_and_monitor_through_the_cli(edge: LocalEdge) -> None:
    modules = edge.status()
    assert {n: m["runtimeStatus"] for n, m in modules.items()} == {"alpha": "running", "beta": "running"}
    assert all(alive(m["pid"]) for m in modules.values())

    answer = edge.cli("invoke", "alpha", "echo", '{"n": 7}', "--json")
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout) == {
        "status": 200,
        "payload": {"payload": {"n": 7}, "pid": modules["alpha"]["pid"]},
    }
    assert edge.cli("invoke", "alpha", "unknown").returncode == 1
    assert edge.cli("invoke", "alpha", "echo", "{not json").returncode == 2

    patched = edge.cli("twin", "beta", "--set", '{"level": 5}', "--json")
    assert patched.returncode == 0, patched.stderr
    assert json.loads(patched.stdout)["properties"]["desired"]["level"] == 5

    def reported() -> Any:
        twin = json.loads(edge.cli("twin", "beta", "--json").stdout)
        return twin["properties"]["reported"].get("last_patch") == {"level": 5}

    wait_for(reported, 30, "desired patch reported back by the module")

    assert edge.cli("invoke", "beta", "send", '{"reading": 21.5}').returncode == 0
    monitor = edge.cli("monitor", "--count", "1", "--timeout", "30", "--json")  # shows the last minute first
    assert monitor.returncode == 0, monitor.stderr
    message = json.loads(monitor.stdout.splitlines()[0])
    assert (message["module"], message["output"], message["body"]) == ("beta", "out", {"reading": 21.5})

    page = requests.get(f"http://{edge.bind}:8080/", timeout=30)
    assert page.status_code == 200 and "alpha" in page.text and "beta" in page.text

    log = edge.cli("logs", "alpha")
    assert log.returncode == 0 and "echo module alpha ready" in log.stdout
    assert any(line.startswith("alpha | echo module alpha ready") for line in edge.lines)


def test_sigkilled_module_is_restarted_after_the_backoff(edge: LocalEdge) -> None:
    first = edge.status()["alpha"]["pid"]
    psutil.Process(first).kill()
    killed_at = time.monotonic()
    assert wait_for(lambda: edge.status()["alpha"]["runtimeStatus"] == "backoff", 10)
    restarted = wait_for(lambda: (s := edge.status()["alpha"])["runtimeStatus"] == "running" and s, 40)
    assert time.monotonic() - killed_at >= 10  # first back-off: 10 s
    assert (restarted["restartCount"], restarted["exitCode"]) == (1, 137)
    assert restarted["pid"] != first
    wait_for(lambda: edge.cli("invoke", "alpha", "echo").returncode == 0, 30, "restarted module answers")


def test_changed_manifest_is_applied_without_restarting_unchanged_modules(edge: LocalEdge) -> None:
    before = edge.status()
    changed = edge.root / "changed.json"
    changed.write_text(
        json.dumps(manifest(alpha=echo_module(1), beta=echo_module(2, MODE="new"), gamma=echo_module(3)))
    )
    second = subprocess.run(edge.up_args(changed), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "started gamma" in second.stdout and "restarted beta" in second.stdout

    after = edge.status()
    assert after["alpha"]["pid"] == before["alpha"]["pid"]
    assert after["beta"]["pid"] != before["beta"]["pid"] and not alive(before["beta"]["pid"])
    assert after["gamma"]["runtimeStatus"] == "running"
    assert "MODE=new" in (edge.state / "modules" / "beta.env").read_text()

    again = subprocess.run(edge.up_args(changed), cwd=REPO, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1
    assert "already running" in again.stderr


def test_sigint_stops_every_process_and_keeps_state(edge: LocalEdge) -> None:
    assert edge.proc is not None
    pids = edge.descendants()
    assert len(pids) >= 3  # two modules and Azurite
    edge.proc.send_signal(signal.SIGINT)
    assert edge.proc.wait(60) == 0
    assert not [pid for pid in pids if alive(pid)]
    assert not (edge.state / "edge.json").exists()
    assert (edge.state / "hub.db").exists() and (edge.state / "keys.json").exists()
    down = edge.cli("status")
    assert down.returncode == 1 and "central up" in down.stderr


def test_ctrl_c_while_modules_are_connecting_stops_without_waiting_for_them(tmp_path: Path) -> None:
    local = echo_edge(tmp_path)
    never_connects = 'FROM python:3.11-slim\nCMD ["python", "-c", "import time; time.sleep(600)"]\n'
    (tmp_path / "modules" / "echo" / "Dockerfile.amd64").write_text(never_connects)
    local.start(manifest(alpha=echo_module(1)), until="waiting for alpha to connect")
    assert local.proc is not None
    pids = local.descendants()
    local.proc.send_signal(signal.SIGINT)
    assert local.proc.wait(30) == 0  # not after the minute `central up` waits for modules to connect
    assert any("stopped while starting" in line for line in local.lines)
    local.stop(pids)


def test_skipped_module_runs_by_hand_from_its_env_file(tmp_path: Path) -> None:
    local = echo_edge(tmp_path)
    local.start(manifest(alpha=echo_module(1), beta=echo_module(2, GREETING="hi")), "--skip", "beta")
    pids = local.descendants()
    try:
        assert set(local.status()) == {"alpha"}
        text = (local.state / "modules" / "beta.env").read_text()
        env = dict(line.split("=", 1) for line in text.splitlines())
        assert (env["IOTEDGE_MODULEID"], env["GREETING"], env["CAMERA_BACKEND"]) == ("beta", "hi", "synthetic")
        by_hand = subprocess.Popen(
            [sys.executable, "-m", "tests.agent_modules.echo"], cwd=REPO, env={**os.environ, **env}
        )
        try:
            wait_for(lambda: local.cli("invoke", "beta", "echo").returncode == 0, 30, "hand-started module answers")
        finally:
            terminate(by_hand)
    finally:
        local.stop(pids)


def test_next_up_ends_processes_a_killed_up_left_behind(tmp_path: Path) -> None:
    local = echo_edge(tmp_path)
    local.start(manifest(alpha=echo_module(1)))
    orphans = local.descendants()
    assert local.proc is not None
    local.proc.kill()
    local.proc.wait(30)
    assert all(alive(pid) for pid in orphans)  # own sessions: they outlive a SIGKILLed parent
    local.lines.clear()
    local.start(manifest(alpha=echo_module(1)))
    try:
        assert not [pid for pid in orphans if alive(pid)]
        assert any("left running by a central up that was killed" in line for line in local.lines)
        assert local.status()["alpha"]["runtimeStatus"] == "running"
    finally:
        local.stop(local.descendants())


def test_port_in_use_is_one_line_naming_the_port(tmp_path: Path) -> None:
    local = echo_edge(tmp_path)
    bind = local.bind
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest(alpha=echo_module(1))))
    with socket.socket() as taken:
        taken.bind((bind, 8443))
        taken.listen()
        result = subprocess.run(local.up_args(path), cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"central up: port 8443 on {bind} (service) is already in use"]


def test_bad_route_is_refused_naming_it(tmp_path: Path) -> None:
    local = echo_edge(tmp_path)
    doc = manifest(alpha=echo_module(1))
    doc["modulesContent"]["$edgeHub"]["properties.desired"]["routes"]["broken"] = (
        "FROM /messages/* WHERE INTO $upstream"
    )
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(doc))
    result = subprocess.run(local.up_args(path), cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "routes/broken: the route does not compile" in result.stderr
    assert not (local.state / "edge.json").exists()
