"""The module images: module.json points at Dockerfiles that build from the repository root.

No Docker daemon is needed: these check what the build depends on (the files each COPY names exist
relative to the build context), what each image runs (`python -m <module>`, as `central up` does),
and that device libraries and root stay out of the images that do not need them. hadolint runs in
`make lint`.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("camera", "sensor", "vision")
PLATFORMS = ("amd64", "arm32v7", "arm64v8")
DEVICE_PACKAGES = {"camera": "python3-picamera2", "sensor": "python3-sense-hat"}


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [line for line in dockerfile.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in joined.splitlines() if line.strip()]


def dockerfiles() -> list[tuple[str, str, Path]]:
    found = []
    for module in MODULES:
        spec = json.loads((ROOT / "modules" / module / "module.json").read_text())
        for platform, relative in spec["image"]["tag"]["platforms"].items():
            found.append((module, platform, ROOT / "modules" / module / relative))
    return found


@pytest.mark.parametrize("module", MODULES)
def test_module_json_builds_every_platform_from_the_repository_root(module: str) -> None:
    spec = json.loads((ROOT / "modules" / module / "module.json").read_text())
    assert spec["image"]["repository"] == f"${{CONTAINER_REGISTRY_SERVER}}/{module}"
    assert sorted(spec["image"]["tag"]["platforms"]) == sorted(PLATFORMS)
    # iotedgedev resolves contextPath and each Dockerfile relative to the module folder.
    assert (ROOT / "modules" / module / spec["image"]["contextPath"]).resolve() == ROOT


@pytest.mark.parametrize(("module", "platform", "dockerfile"), dockerfiles(), ids=lambda v: str(getattr(v, "name", v)))
def test_dockerfile_copies_existing_files_and_runs_the_module(module: str, platform: str, dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    copies = [shlex.split(args)[:-1] for name, args in steps if name == "COPY"]
    assert [source for sources in copies for source in sources] == [
        f"modules/{module}/requirements.txt",
        "src/edgekit",
        f"modules/{module}/{module}",
    ]
    assert all((ROOT / source).exists() for sources in copies for source in sources)
    assert steps[-1] == ("CMD", f'["python", "-m", "{module}"]')
    assert steps[0] == ("FROM", f"{platform}/python:3.11-slim-bookworm")


@pytest.mark.parametrize(("module", "platform", "dockerfile"), dockerfiles(), ids=lambda v: str(getattr(v, "name", v)))
def test_device_libraries_only_in_arm_images_and_never_root(module: str, platform: str, dockerfile: Path) -> None:
    steps = instructions(dockerfile)
    text = " ".join(args for _, args in steps)
    for owner, package in DEVICE_PACKAGES.items():
        assert (package in text) == (owner == module and platform != "amd64")
    users = [args for name, args in steps if name == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert not re.search(
        r"(KEY|PASSWORD|SECRET|CONNECTION_STRING)", " ".join(a for n, a in steps if n in ("ENV", "ARG"))
    )
