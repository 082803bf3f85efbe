"""Operator commands without a running edge: usage errors exit 2, an absent edge exits 1, output shapes."""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from azure.eventhub import EventData

from central.cli import main
from central.commands.monitor import eventhub_json
from central.commands.status import rows
from central.commands.up import load_manifest
from central.edge_locator import AlreadyRunningError, EdgeInfo, read_edge_info, single_instance, write_edge_info
from central.validate import validate_document
from tests.fixtures.edge import solution_manifest


@pytest.mark.parametrize(
    "argv",
    [
        ["invoke", "camera", "take_photo", "{bad"],
        ["invoke", "camera", "take_photo", "--timeout", "1"],
        ["twin", "camera", "--set", "[1, 2]"],
        ["monitor", "--count", "0"],
        ["status", "--hub-connection-string", "HostName=h;SharedAccessKeyName=p;SharedAccessKey=aGk="],
    ],
)
def test_usage_errors_exit_2(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "--state-dir", str(tmp_path)] if argv[0] != "status" else argv) == 2
    assert capsys.readouterr().err.startswith(f"central {argv[0]}: ")


@pytest.mark.parametrize("command", [["status"], ["invoke", "camera", "take_photo"], ["twin", "camera"]])
def test_no_running_edge_exits_1_and_says_how_to_start_one(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--state-dir", str(tmp_path)]) == 1
    assert "start one with `central up`" in capsys.readouterr().err


def test_state_dir_comes_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CENTRAL_STATE_DIR", str(tmp_path))
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "camera.log").write_text("one\ntwo\nthree\n")
    assert main(["logs", "camera", "-n", "2"]) == 0


def test_logs_prints_the_last_lines_and_names_known_modules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "camera.log").write_text("one\ntwo\nthree\n")
    assert main(["logs", "camera", "-n", "2", "--state-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "two\nthree\n"
    assert main(["logs", "vision", "--state-dir", str(tmp_path)]) == 2
    assert "known: camera" in capsys.readouterr().err


def test_edge_info_of_an_ended_process_is_not_running(tmp_path: Path) -> None:
    write_edge_info(tmp_path, EdgeInfo(pid=2**22 + 12345, bind="127.0.0.1", device_id="d", hub_hostname="h"))
    with pytest.raises(RuntimeError, match="is not running"):
        read_edge_info(tmp_path)


def test_single_instance_lock(tmp_path: Path) -> None:
    with (
        single_instance(tmp_path),
        pytest.raises(AlreadyRunningError, match="already running"),
        single_instance(tmp_path),
    ):
        pass
    with single_instance(tmp_path):  # released again
        pass


def test_status_rows_show_dashes_for_a_real_hub_without_pids() -> None:
    modules = {"camera": {"runtimeStatus": "backoff", "restartCount": 2, "exitCode": 137}, "a": {}}
    assert rows(modules) == [
        ["a", None, None, 0, None, None, None],
        ["camera", "backoff", None, 2, 137, None, None],
    ]


def test_eventhub_events_have_the_local_shape() -> None:
    event = EventData('{"temperature": 21}')
    event.properties = {b"alert": b"no"}
    event._raw_amqp_message.annotations = {b"iothub-connection-module-id": b"sensor"}  # as IoT Hub stamps it
    shaped = eventhub_json(event)
    assert (shaped["module"], shaped["body"], shaped["properties"]) == ("sensor", {"temperature": 21}, {"alert": "no"})


def test_up_expands_the_template_with_env_example_when_there_is_no_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = Path(__file__).resolve().parents[1]
    shutil.copy(repo / "deployment.template.json", tmp_path)
    shutil.copy(repo / ".env.example", tmp_path)
    for meta in repo.glob("modules/*/module.json"):
        (tmp_path / meta.parent.relative_to(repo)).mkdir(parents=True)
        shutil.copy(meta, tmp_path / meta.relative_to(repo))
    monkeypatch.chdir(tmp_path)
    for name in ("CONTAINER_REGISTRY_SERVER", "CAMERA_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    args = argparse.Namespace(manifest=None, template=None, env=None, platform="amd64")
    manifest = load_manifest(args)
    assert validate_document(manifest) == []
    camera = manifest["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]["camera"]
    assert camera["settings"]["image"] == "localhost:5000/camera:0.1.0-amd64"
    assert json.loads((tmp_path / "config" / "deployment.amd64.json").read_text()) == manifest


def test_up_refuses_a_template_given_as_the_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = Path(__file__).resolve().parents[1] / "deployment.template.json"
    assert main(["up", "--manifest", str(template), "--state-dir", str(tmp_path)]) == 2
    assert "a deployment template, not a manifest; expand it with central genconfig" in capsys.readouterr().err
    assert not (tmp_path / "edge.json").exists()


def test_up_refuses_a_bind_address_that_is_not_loopback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(solution_manifest({})))
    args = ["up", "--manifest", str(path), "--state-dir", str(tmp_path), "--settings", str(tmp_path / "none.toml")]
    assert main([*args, "--bind", "192.0.2.1"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "central up: --bind '192.0.2.1' is not a loopback address; use 127.0.0.1 or another 127.x.y.z"
    )


@pytest.mark.slow
def test_logs_follow_carries_on_across_a_rotation(tmp_path: Path) -> None:
    """`central logs -f` is a real process; the log is rotated under it the way the agent rotates it."""
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "camera.log"
    log.write_text("before\n")
    argv = [sys.executable, "-m", "central", "logs", "camera", "-f", "--state-dir", str(tmp_path)]
    follower = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline() == "before\n"
        with log.open("a") as f:
            f.write("last line of the old file\n")
        log.replace(logs / "camera.log.1")
        log.write_text("first line of the new file\n")
        assert follower.stdout.readline() == "last line of the old file\n"
        assert follower.stdout.readline() == "first line of the new file\n"
    finally:
        follower.send_signal(signal.SIGINT)
        follower.wait(timeout=10)
