"""Module commands from module.json + Dockerfile, and local settings from central.local.toml."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from central.agent.entrypoints import EntrypointError, image_name, module_command
from central.agent.local_settings import LocalSettingsError, load

REPO = Path(__file__).resolve().parents[1]
VALUES = {"AZURITE_CONNECTION_STRING": "UseDevelopmentStorage=true", "BIND": "127.0.0.9", "STATE_DIR": "/s"}


def make_module(root: Path, folder: str, repository: str, dockerfile: str) -> None:
    (root / folder).mkdir(parents=True)
    meta = {
        "image": {"repository": repository, "tag": {"version": "0.1.0", "platforms": {"amd64": "./Dockerfile.amd64"}}}
    }
    (root / folder / "module.json").write_text(json.dumps(meta))
    (root / folder / "Dockerfile.amd64").write_text(dockerfile)


def spec(image: str) -> dict:
    return {"settings": {"image": image}}


@pytest.mark.parametrize(
    ("image", "name"),
    [("localhost:5000/camera:0.1.0-amd64", "camera"), ("Reg.io/Team/Vision", "vision"), ("x/y@sha256:ab", "y")],
)
def test_image_name(image: str, name: str) -> None:
    assert image_name(image) == name


def test_cmd_json_form_runs_with_this_python(tmp_path: Path) -> None:
    make_module(
        tmp_path, "cam", "${CONTAINER_REGISTRY_SERVER}/camera", 'FROM x\nCMD ["sh"]\nCMD ["python", "-m", "camera"]\n'
    )
    assert module_command(tmp_path, spec("localhost:5000/camera:0.1.0-amd64")) == [sys.executable, "-m", "camera"]


def test_entrypoint_and_cmd_are_joined(tmp_path: Path) -> None:
    make_module(tmp_path, "t", "r/tool", 'ENTRYPOINT ["/bin/tool"]\nCMD ["--fast"]\n')
    assert module_command(tmp_path, spec("r/tool:1")) == ["/bin/tool", "--fast"]


def test_shell_form_cmd_is_refused_with_line_number(tmp_path: Path) -> None:
    make_module(tmp_path, "t", "r/tool", "FROM x\nCMD python -m tool\n")
    with pytest.raises(EntrypointError, match=r"Dockerfile.amd64:2: CMD must use the JSON form"):
        module_command(tmp_path, spec("r/tool:1"))


def test_unknown_image_names_the_field(tmp_path: Path) -> None:
    make_module(tmp_path, "t", "r/tool", 'CMD ["python"]\n')
    with pytest.raises(EntrypointError, match=r"settings.image 'r/other:1': no module folder"):
        module_command(tmp_path, spec("r/other:1"))


def test_real_modules_run_as_python_dash_m() -> None:
    folders = [p.parent.name for p in (REPO / "modules").glob("*/Dockerfile.amd64")]
    assert sorted(folders) == ["camera", "sensor", "vision"]
    for folder in folders:
        assert module_command(REPO / "modules", spec(f"localhost:5000/{folder}:0.1.0-amd64"))[1:] == ["-m", folder]


def test_settings_defaults_without_file(tmp_path: Path) -> None:
    settings = load(tmp_path / "missing.toml")
    env = settings.env_for("camera", VALUES)
    assert (env["CAMERA_BACKEND"], env["CAMERA_SPOOL_DIR"]) == ("synthetic", "/s/camera/spool")
    assert "CAMERA_SPOOL_DIR" not in settings.env_for("sensor", VALUES)
    assert env["STORAGE_CONNECTION_STRING"] == "UseDevelopmentStorage=true"
    assert (settings.device_id, settings.bind, settings.containers) == ("edge-local", "127.0.0.1", ("photos", "videos"))


def test_example_file_parses_and_module_env_overrides(tmp_path: Path) -> None:
    assert load(REPO / "central.local.example.toml") == load(tmp_path / "missing.toml")
    path = tmp_path / "central.local.toml"
    path.write_text('bind = "127.0.0.9"\n[env]\nX = "${BIND}"\n[modules.camera.env]\nCAMERA_BACKEND = "opencv"\n')
    settings = load(path)
    camera = settings.env_for("camera", VALUES)
    assert (camera["CAMERA_BACKEND"], camera["CAMERA_SPOOL_DIR"]) == ("opencv", "/s/camera/spool")
    assert settings.env_for("sensor", VALUES)["CAMERA_BACKEND"] == "synthetic"
    assert settings.env_for("sensor", VALUES)["X"] == "127.0.0.9"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bind = 3\n", "bind must be a non-empty string"),
        ("[modules.camera]\nenv = 1\n", "modules.camera.env must be a table of strings"),
        ("containers = 'photos'\n", "containers must be a list of strings"),
        ("bind = \n", "central.local.toml"),
        ('bind = "0.0.0.0"\n', "central.local.toml: bind '0.0.0.0' is not a loopback address"),
        ('bind = "localhost"\n', "bind 'localhost' is not a loopback address"),
    ],
)
def test_bad_settings_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "central.local.toml"
    path.write_text(text)
    with pytest.raises(LocalSettingsError, match=message):
        load(path)


def test_unknown_placeholder_names_module(tmp_path: Path) -> None:
    path = tmp_path / "central.local.toml"
    path.write_text('[env]\nX = "${NOPE}"\n')
    with pytest.raises(LocalSettingsError, match="env of vision: unknown placeholder 'NOPE'"):
        load(path).env_for("vision", {"AZURITE_CONNECTION_STRING": "c"})
