"""Which command runs a module: the same entry point as its container.

A manifest names a module's image (`registry/camera:0.1.0-amd64`). The module
folder whose `module.json` image repository has that name holds the Dockerfile;
its `ENTRYPOINT`/`CMD` (JSON form, e.g. `["python", "-m", "camera"]`) is the
command. `python` is replaced by this interpreter, so the module runs from the
project's virtual environment where `make setup` installed it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PYTHONS = frozenset({"python", "python3", "python3.11", "/usr/bin/python3", "/usr/local/bin/python"})
DEFAULT_PLATFORM = "amd64"


class EntrypointError(ValueError):
    """The module's command could not be found; the message names the file or field."""


@dataclass(frozen=True)
class ModuleFolder:
    path: Path
    repository: str
    dockerfiles: Mapping[str, str]


def image_name(image: str) -> str:
    """`registry:5000/Camera:0.1.0-amd64` → `camera`: the last path segment, without tag or digest."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[0].lower()


def read_module_folder(path: Path) -> ModuleFolder:
    meta_path = path / "module.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        image = meta["image"]
        return ModuleFolder(path, image["repository"], image["tag"]["platforms"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise EntrypointError(f"{meta_path}: no image.repository / image.tag.platforms ({e})") from e


def find_module_folder(modules_dir: Path, image: str) -> ModuleFolder:
    """The folder under `modules_dir` whose module.json image repository is named like `image`."""
    wanted = image_name(image)
    matches = [
        folder
        for meta in sorted(modules_dir.glob("*/module.json"))
        if image_name((folder := read_module_folder(meta.parent)).repository) == wanted
    ]
    if len(matches) != 1:
        found = "no module folder" if not matches else f"{len(matches)} module folders"
        raise EntrypointError(f"settings.image {image!r}: {found} under {modules_dir} has repository '.../{wanted}'")
    return matches[0]


def _instruction(dockerfile: Path, keyword: str) -> list[str] | None:
    """The last `keyword [...]` instruction of a Dockerfile in JSON form (the one that takes effect)."""
    found: list[str] | None = None
    for number, line in enumerate(dockerfile.read_text(encoding="utf-8").splitlines(), start=1):
        words = line.strip().split(None, 1)
        if len(words) == 2 and words[0].upper() == keyword:
            try:
                value = json.loads(words[1])
            except json.JSONDecodeError:
                value = None
            if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise EntrypointError(f'{dockerfile}:{number}: {keyword} must use the JSON form ["..."]')
            found = value
    return found


def dockerfile_command(dockerfile: Path) -> list[str]:
    """ENTRYPOINT + CMD of a Dockerfile, as the container would run them."""
    if not dockerfile.is_file():
        raise EntrypointError(f"{dockerfile} does not exist")
    argv = (_instruction(dockerfile, "ENTRYPOINT") or []) + (_instruction(dockerfile, "CMD") or [])
    if not argv:
        raise EntrypointError(f"{dockerfile}: no CMD or ENTRYPOINT")
    return argv


def module_command(modules_dir: Path, spec: Mapping[str, Any], platform: str = DEFAULT_PLATFORM) -> list[str]:
    """The argv that runs the module described by the manifest entry `spec` on this machine."""
    image = spec.get("settings", {}).get("image")
    if not image:
        raise EntrypointError("settings.image is missing")
    folder = find_module_folder(modules_dir, image)
    relative = folder.dockerfiles.get(platform) or next(iter(folder.dockerfiles.values()), None)
    if relative is None:
        raise EntrypointError(f"{folder.path / 'module.json'}: image.tag.platforms is empty")
    argv = dockerfile_command(folder.path / relative)
    return [sys.executable, *argv[1:]] if argv[0] in PYTHONS else argv
