"""Module images for a platform, and the `docker buildx` commands that build them, from modules/*/module.json.

This is the build half of `iotedgedev solution build`: the image tags come from `central.genconfig` (so the
manifest and the images always agree), the Dockerfile and build context from each module.json. The images
are cross-built with buildx (QEMU) because a Raspberry Pi is slow to build on and runs arm32v7 or arm64v8.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from central import genconfig

# module.json platform names -> docker's --platform values.
DOCKER_PLATFORMS = {"amd64": "linux/amd64", "arm32v7": "linux/arm/v7", "arm64v8": "linux/arm64"}
TEMPLATE = "deployment.template.json"
_UNSET_VARIABLE = re.compile(r"\$\{?\w+\}?")


class BuildError(Exception):
    """A module.json that cannot be built from; the message names the file and the field."""


@dataclass(frozen=True)
class ModuleImage:
    module: str
    tag: str
    dockerfile: Path
    context: Path
    build_options: tuple[str, ...]


def module_images(project_dir: Path, platform: str, environment: Mapping[str, str]) -> list[ModuleImage]:
    """Every module under MODULES_PATH (default `modules`) that has a module.json, in name order."""
    modules_dir = project_dir / genconfig.setting(environment, "MODULES_PATH", "modules")
    if not modules_dir.is_dir():
        raise BuildError(f"{modules_dir}: no modules folder")
    try:
        tags = genconfig.image_tags(project_dir / TEMPLATE, {}, platform, environment)
    except genconfig.GenconfigError as e:  # a module.json that is not JSON: the message names it
        raise BuildError(str(e)) from e
    images = []
    for folder in sorted(p for p in modules_dir.iterdir() if (p / "module.json").is_file()):
        images.append(_module_image(folder, platform, environment, tags))
    if not images:
        raise BuildError(f"{modules_dir}: no module.json in any folder")
    return images


def _module_image(folder: Path, platform: str, environment: Mapping[str, str], tags: dict[str, str]) -> ModuleImage:
    path = folder / "module.json"
    try:
        image = json.loads(genconfig.expand_variables(path.read_text(encoding="utf-8"), environment))["image"]
        platforms = image["tag"]["platforms"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise BuildError(f"{path}: needs image.tag.platforms ({e})") from e
    if platform not in platforms:
        raise BuildError(f"{path}: image.tag.platforms has no {platform} Dockerfile (has {', '.join(platforms)})")
    unset = _UNSET_VARIABLE.search(str(image.get("repository", "")))
    if unset:
        raise BuildError(f"{path}: image.repository uses {unset.group(0)}, which neither the environment nor .env sets")
    tag = tags[f"${{MODULES.{folder.name}.{platform}}}"]
    dockerfile = folder / platforms[platform]
    if not dockerfile.is_file():
        raise BuildError(f"{path}: image.tag.platforms.{platform} names {dockerfile}, which does not exist")
    options = [part for option in image.get("buildOptions", []) for part in shlex.split(option)]
    return ModuleImage(
        module=folder.name,
        tag=tag,
        dockerfile=dockerfile,
        context=Path(os.path.normpath(folder / image.get("contextPath", "./"))),
        build_options=tuple(options),
    )


def buildx_command(image: ModuleImage, platform: str, push: bool) -> list[str]:
    """`--push` sends the image to its registry; otherwise `--load` keeps it in the local docker."""
    return [
        "docker",
        "buildx",
        "build",
        "--platform",
        DOCKER_PLATFORMS[platform],
        "--file",
        str(image.dockerfile),
        "--tag",
        image.tag,
        *image.build_options,
        "--push" if push else "--load",
        str(image.context),
    ]
