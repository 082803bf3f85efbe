"""Expand a deployment template into a deployment manifest, as iotedgedev 3.3.9 does.

`iotedgedev solution genconfig` is the reference: a manifest generated here must be
JSON-equal to its output for the same solution, so each step copies its behaviour,
including the odd parts:

- variables come from the process environment, then `.env` for names the process
  does not set (python-dotenv, with its own `${VAR}` interpolation inside `.env`);
- `$VAR` and `${VAR}` are replaced in the raw *text* of the template and of every
  `module.json` (os.path.expandvars rules: unknown names stay as they are, a
  replacement is never scanned again), before the JSON is parsed;
- `${MODULES.<folder>}` / `${MODULES.<folder>.<platform>}` (and `${MODULEDIR<dir>...}`)
  become `<repository lower-cased>:<version>[-CONTAINER_TAG]-<platform>`, but only
  where a user module's `settings.image` is exactly the placeholder;
- object `createOptions` of every module become minified JSON text (ASCII-escaped,
  as `json.dumps` does by default), cut into 512-character pieces `createOptions`,
  `createOptions01`, ... at most 8;
- `$schema-template` is dropped.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from dotenv.main import DotEnv

PLATFORMS = ("amd64", "arm32v7", "arm64v8")
DEFAULT_PLATFORM = "amd64"
CREATE_OPTIONS_CHUNK = 512
CREATE_OPTIONS_MAX_CHUNKS = 8
TEMPLATE_SUFFIX = ".template.json"

# os.path.expandvars' own pattern (posixpath, Python 3.11).
_VARIABLE = re.compile(r"\$(\w+|\{[^}]*\})", re.ASCII)
_MODULEDIR = re.compile(r"\${MODULEDIR<(.+)>(\..+)?}")


class GenconfigError(Exception):
    """The template or a module.json cannot be expanded; the message says where and why."""


def load_environment(env_file: Path | None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a template sees: `base` (the process environment), plus `.env` for names it lacks.

    This is python-dotenv's `load_dotenv(override=False)` without touching os.environ.
    """
    environment = dict(os.environ if base is None else base)
    if env_file is not None and env_file.is_file():
        for name, value in DotEnv(env_file, override=False, interpolate=True).dict().items():
            if value is not None:
                environment.setdefault(name, value)
    return environment


def expand_variables(text: str, environment: Mapping[str, str]) -> str:
    """os.path.expandvars over `text`, with `environment` in place of os.environ."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("{") and name.endswith("}"):
            name = name[1:-1]
        return environment.get(name, match.group(0))

    return _VARIABLE.sub(replace, text)


def _load_expanded_json(path: Path, environment: Mapping[str, str]) -> Any:
    text = expand_variables(path.read_text(encoding="utf-8"), environment)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise GenconfigError(
            f"{path}: line {e.lineno} column {e.colno}: not valid JSON after variable expansion ({e.msg}); "
            "a value from .env that contains a double quote or a backslash breaks the JSON text"
        ) from e


def setting(environment: Mapping[str, str], name: str, default: str) -> str:
    """An iotedgedev setting: the variable's value stripped, or `default` when unset or blank."""
    return environment.get(name, "").strip() or default


def _module_image(module_dir: Path, environment: Mapping[str, str]) -> tuple[str, str, list[str]]:
    """(repository, version, platforms) from a module.json, with iotedgedev's defaults."""
    path = module_dir / "module.json"
    if not path.is_file():
        raise GenconfigError(f"{path}: not found; a module folder needs a module.json")
    spec = _load_expanded_json(path, environment)
    image = spec.get("image", {}) if isinstance(spec, dict) else None
    tag = image.get("tag", {}) if isinstance(image, dict) else None
    platforms = tag.get("platforms", {}) if isinstance(tag, dict) else None
    if not isinstance(platforms, dict):
        raise GenconfigError(f"{path}: expected image.tag.platforms to be an object of platform: Dockerfile")
    return str(image.get("repository", "")), str(tag.get("version", "0.0.0")), list(platforms)


def _module_image_tags(
    module_dir: Path, placeholder_base: str, platform: str, environment: Mapping[str, str]
) -> dict[str, str]:
    """Placeholder -> image tag for one module folder (iotedgedev `_update_module_maps`)."""
    repository, version, platforms = _module_image(module_dir, environment)
    container_tag = setting(environment, "CONTAINER_TAG", "")
    suffix = f"-{container_tag}" if container_tag else ""
    tags: dict[str, str] = {}
    for module_platform in platforms:
        tag = f"{repository.lower()}:{version}{suffix}-{module_platform}"
        tags[f"${{{placeholder_base}.{module_platform}}}"] = tag
        if module_platform == platform:
            tags[f"${{{placeholder_base}}}"] = tag
        elif module_platform == f"{platform}.debug":
            tags[f"${{{placeholder_base}.debug}}"] = tag
    return tags


def image_tags(
    template: Path, user_modules: Mapping[str, Any], platform: str, environment: Mapping[str, str]
) -> dict[str, str]:
    """Every image placeholder the solution defines, mapped to its tag."""
    tags: dict[str, str] = {}
    modules_dir = template.parent / setting(environment, "MODULES_PATH", "modules")
    if modules_dir.is_dir():
        for folder in sorted(modules_dir.iterdir()):
            if (folder / "module.json").is_file():
                tags.update(_module_image_tags(folder, f"MODULES.{folder.name}", platform, environment))
    for module in _entries(user_modules):
        match = _MODULEDIR.search(str(module.get("settings", {}).get("image", "")))
        if match:
            module_dir = template.parent / match.group(1)
            tags.update(_module_image_tags(module_dir, f"MODULEDIR<{match.group(1)}>", platform, environment))
    return tags


def _entries(modules: Any) -> list[dict[str, Any]]:
    """The module entries of a modules map, skipping malformed ones (validation reports them)."""
    if not isinstance(modules, dict):
        return []
    return [m for m in modules.values() if isinstance(m, dict) and isinstance(m.get("settings", {}), dict)]


def chunk_create_options(settings: dict[str, Any], where: str) -> None:
    """Replace object `createOptions` by its JSON text, cut into numbered 512-character pieces."""
    if "createOptions" not in settings:
        return
    options = settings["createOptions"]
    text = options if isinstance(options, str) else json.dumps(options, separators=(",", ":"))
    chunks = [text[i : i + CREATE_OPTIONS_CHUNK] for i in range(0, len(text), CREATE_OPTIONS_CHUNK)]
    if len(chunks) > CREATE_OPTIONS_MAX_CHUNKS:
        raise GenconfigError(
            f"{where}/settings/createOptions: {len(text)} characters once minified, more than the "
            f"{CREATE_OPTIONS_MAX_CHUNKS} x {CREATE_OPTIONS_CHUNK} edgeAgent accepts; remove options"
        )
    for index, chunk in enumerate(chunks):
        settings["createOptions" if index == 0 else f"createOptions{index:02d}"] = chunk


def _agent_desired(manifest: dict[str, Any], template: Path) -> dict[str, Any]:
    try:
        desired = manifest["modulesContent"]["$edgeAgent"]["properties.desired"]
    except (KeyError, TypeError) as e:
        raise GenconfigError(f"{template}: no /modulesContent/$edgeAgent/properties.desired to expand") from e
    if not isinstance(desired, dict):
        raise GenconfigError(f"{template}: /modulesContent/$edgeAgent/properties.desired must be an object")
    return desired


class Expansion(NamedTuple):
    manifest: dict[str, Any]
    schema_template: str  # the template's `$schema-template`, which the manifest no longer has


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


def generate(template: Path, platform: str, environment: Mapping[str, str], patches: Sequence[Path] = ()) -> Expansion:
    """The deployment manifest for `platform`, as a JSON document.

    `patches` are JSON merge patches (expanded like the template) applied to the template
    before images and createOptions are processed: iotedgedev has no such step, and
    without patches the result is exactly iotedgedev's.
    """
    manifest = _load_expanded_json(template, environment)
    for patch in patches:
        manifest = merge_patch(manifest, _load_expanded_json(patch, environment))
    if not isinstance(manifest, dict):
        raise GenconfigError(f"{template}: a deployment template is a JSON object")
    desired = _agent_desired(manifest, template)
    user_modules = desired.get("modules", {})
    tags = image_tags(template, user_modules, platform, environment)
    for module in _entries(user_modules):
        settings = module.get("settings", {})
        image = settings.get("image")
        if isinstance(image, str) and image in tags:
            settings["image"] = tags[image]
    for group in ("systemModules", "modules"):
        modules = desired.get(group)
        for name in modules if isinstance(modules, dict) else ():
            settings = modules[name].get("settings") if isinstance(modules[name], dict) else None
            if isinstance(settings, dict):
                chunk_create_options(
                    settings, f"{template}: /modulesContent/$edgeAgent/properties.desired/{group}/{name}"
                )
    schema_template = manifest.pop("$schema-template", "")
    return Expansion(manifest, str(schema_template))


def manifest_name(template: Path, schema_template: str, platform: str, environment: Mapping[str, str]) -> str:
    """`deployment.template.json` -> `deployment.<platform>.json` (iotedgedev naming).

    As in iotedgedev, DEPLOYMENT_CONFIG_FILE overrides the name, and templates older
    than `$schema-template` 0.0.1 get no platform in it.
    """
    if "DEPLOYMENT_CONFIG_FILE" in environment:
        return environment["DEPLOYMENT_CONFIG_FILE"]
    suffix = f".{platform}" if schema_template > "0.0.1" else ""
    name = template.name
    if name.endswith(TEMPLATE_SUFFIX):
        return f"{name[: -len(TEMPLATE_SUFFIX)]}{suffix}.json"
    if name.endswith(".json"):
        return f"{name[: -len('.json')]}{suffix}.json"
    return f"deployment{suffix}.json"


def write_manifest(manifest: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
