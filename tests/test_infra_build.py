"""`central build`: buildx commands from module.json, tagged exactly as genconfig names the images."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest

from central.cli import main
from central.genconfig import generate, load_environment

REPO = Path(__file__).resolve().parents[1]


def write_module(root: Path, name: str, platforms: tuple[str, ...], build_options: list[str] | None = None) -> None:
    folder = root / "modules" / name
    folder.mkdir(parents=True)
    for platform in platforms:
        (folder / f"Dockerfile.{platform}").write_text("FROM scratch\n")
    spec = {
        "$schema-version": "0.0.1",
        "image": {
            "repository": "${CONTAINER_REGISTRY_SERVER}/" + name,
            "tag": {"version": "0.2.0", "platforms": {p: f"./Dockerfile.{p}" for p in platforms}},
            "buildOptions": build_options or [],
            "contextPath": "../../",
        },
        "language": "python",
    }
    (folder / "module.json").write_text(json.dumps(spec))


@pytest.fixture
def solution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("CONTAINER_REGISTRY_SERVER", "CONTAINER_TAG", "DEFAULT_PLATFORM", "MODULES_PATH"):
        monkeypatch.delenv(name, raising=False)
    write_module(tmp_path, "camera", ("amd64", "arm32v7", "arm64v8"))
    write_module(tmp_path, "sensor", ("amd64", "arm32v7"), ["--build-arg PIP_INDEX=local", "--no-cache"])
    (tmp_path / ".env").write_text("CONTAINER_REGISTRY_SERVER=MyAcr.azurecr.io\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def dry_run(capsys: pytest.CaptureFixture[str], *args: str) -> list[list[str]]:
    assert main(["build", "--dry-run", *args]) == 0
    return [shlex.split(line) for line in capsys.readouterr().out.splitlines()]


def test_dry_run_prints_one_buildx_command_per_module(solution: Path, capsys: pytest.CaptureFixture[str]) -> None:
    camera, sensor = dry_run(capsys, "-P", "arm32v7")

    assert camera == [
        "docker", "buildx", "build", "--platform", "linux/arm/v7",
        "--file", "modules/camera/Dockerfile.arm32v7",
        "--tag", "myacr.azurecr.io/camera:0.2.0-arm32v7",
        "--load", ".",
    ]  # fmt: skip
    assert sensor[sensor.index("--tag") + 1] == "myacr.azurecr.io/sensor:0.2.0-arm32v7"
    assert sensor[-4:] == ["PIP_INDEX=local", "--no-cache", "--load", "."]


def test_push_and_platform_names(solution: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(solution / "modules" / "sensor")  # it has no arm64v8 Dockerfile

    (camera,) = dry_run(capsys, "-P", "arm64v8", "--push")

    assert camera[camera.index("--platform") + 1] == "linux/arm64"
    assert camera[-2:] == ["--push", "."]


def test_default_platform_and_container_tag_come_from_env(solution: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (solution / ".env").write_text("CONTAINER_REGISTRY_SERVER=acr.io\nDEFAULT_PLATFORM=amd64\nCONTAINER_TAG=dev\n")

    commands = dry_run(capsys)

    assert [c[c.index("--tag") + 1] for c in commands] == [
        "acr.io/camera:0.2.0-dev-amd64",
        "acr.io/sensor:0.2.0-dev-amd64",
    ]
    assert {c[c.index("--platform") + 1] for c in commands} == {"linux/amd64"}


def test_tags_match_the_generated_manifest(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("CONTAINER_REGISTRY_SERVER", "registry.example:5000")
    monkeypatch.delenv("CONTAINER_TAG", raising=False)
    environment = load_environment(None)
    manifest = generate(REPO / "deployment.template.json", "arm32v7", environment).manifest
    modules = manifest["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]
    images = {m["settings"]["image"] for m in modules.values() if "registry.example" in m["settings"]["image"]}

    tags = {c[c.index("--tag") + 1] for c in dry_run(capsys, "-P", "arm32v7", "--env", "/nonexistent")}

    assert images and images <= tags


def test_unset_registry_variable_is_named(solution: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (solution / ".env").write_text("")

    assert main(["build", "--dry-run", "-P", "amd64"]) == 2
    assert "uses ${CONTAINER_REGISTRY_SERVER}, which neither the environment nor .env sets" in capsys.readouterr().err


def test_missing_platform_is_named(solution: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--dry-run", "-P", "arm64v8"]) == 2
    err = capsys.readouterr().err
    assert "modules/sensor/module.json: image.tag.platforms has no arm64v8 Dockerfile" in err


def test_module_json_that_is_not_json_is_named(solution: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (solution / "modules" / "sensor" / "module.json").write_text('{"image": ')

    assert main(["build", "--dry-run", "-P", "amd64"]) == 2
    assert "modules/sensor/module.json: line 1 column 11: not valid JSON" in capsys.readouterr().err


def test_missing_dockerfile_is_named(solution: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (solution / "modules" / "camera" / "Dockerfile.amd64").unlink()

    assert main(["build", "--dry-run", "-P", "amd64"]) == 2
    assert "Dockerfile.amd64, which does not exist" in capsys.readouterr().err


def test_without_docker_it_says_so_in_one_line(
    solution: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    assert main(["build", "-P", "arm32v7"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "docker is not installed" in captured.err
