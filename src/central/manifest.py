"""A generated deployment manifest, loaded, validated and read through named accessors.

`central up`, the agent and the hub read the same file `az iot edge set-modules`
takes (`config/deployment.<platform>.json`). Loading validates it first, so code
that reads a `Manifest` can rely on its shape: every module has an image, a
status and a restart policy, createOptions is JSON, every route compiles.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from central.validate import Problem, is_template, validate_document

DEFAULT_TTL_S = 7200  # edgeHub's storeAndForwardConfiguration.timeToLiveSecs when unset


class ManifestError(ValueError):
    """The manifest cannot be used; `problems` lists each place and what to fix."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.problems = problems
        listed = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s):\n{listed}")


def _env_text(value: object) -> str:
    """An env value as the module's process sees it.

    edgeAgent reads `value` into a .NET string, so JSON `true` arrives as "True", as Python's str gives.
    """
    return str(value)


def join_create_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The Docker create options of a module: its createOptions pieces joined and parsed."""
    pieces = [settings.get("createOptions", "")]
    pieces += [settings[f"createOptions{i:02d}"] for i in range(1, 8) if f"createOptions{i:02d}" in settings]
    text = "".join(str(p) for p in pieces).strip()
    return json.loads(text) if text else {}


@dataclass(frozen=True)
class ModuleSpec:
    """One `$edgeAgent` module entry (user or system module)."""

    name: str
    image: str
    status: str
    restart_policy: str
    startup_order: int | None
    env: Mapping[str, str]
    create_options: Mapping[str, Any]
    version: str
    entry: Mapping[str, Any]  # the entry as written, for what has no accessor

    @classmethod
    def from_entry(cls, name: str, entry: Mapping[str, Any]) -> ModuleSpec:
        settings = entry.get("settings", {})
        env = {key: _env_text(item["value"]) for key, item in entry.get("env", {}).items()}
        return cls(
            name=name,
            image=settings["image"],
            status=entry.get("status", "running"),
            restart_policy=entry.get("restartPolicy", "always"),
            startup_order=entry.get("startupOrder"),
            env=MappingProxyType(env),
            create_options=MappingProxyType(join_create_options(settings)),
            version=str(entry.get("version", "")),
            entry=entry,
        )


class Manifest:
    """A validated deployment manifest (`{"modulesContent": {...}}`)."""

    def __init__(self, document: Mapping[str, Any], source: str = "manifest") -> None:
        if is_template(document):
            hint = "a deployment template, not a manifest; expand it with central genconfig"
            raise ManifestError(source, [Problem("/$schema-template", hint)])
        problems = validate_document(document)
        if problems:
            raise ManifestError(source, problems)
        self.document = document
        self.source = source

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ManifestError(str(path), [Problem("", f"not valid JSON: {e.msg} at line {e.lineno}")]) from e
        return cls(document, str(path))

    @property
    def content(self) -> Mapping[str, Any]:
        return self.document["modulesContent"]

    @property
    def agent_desired(self) -> Mapping[str, Any]:
        return self.content["$edgeAgent"]["properties.desired"]

    @property
    def hub_desired(self) -> Mapping[str, Any]:
        """`$edgeHub` desired properties: schemaVersion, routes, storeAndForwardConfiguration."""
        return self.content["$edgeHub"]["properties.desired"]

    @property
    def modules(self) -> dict[str, ModuleSpec]:
        """User modules by name, in manifest order."""
        return {name: ModuleSpec.from_entry(name, e) for name, e in self.agent_desired.get("modules", {}).items()}

    @property
    def system_modules(self) -> dict[str, ModuleSpec]:
        """edgeAgent and edgeHub (edgeAgent has no status or restart policy of its own: defaults apply)."""
        return {name: ModuleSpec.from_entry(name, e) for name, e in self.agent_desired["systemModules"].items()}

    @property
    def routes(self) -> Mapping[str, Any]:
        return self.hub_desired.get("routes", {})

    @property
    def store_and_forward_ttl_s(self) -> int:
        return int(self.hub_desired.get("storeAndForwardConfiguration", {}).get("timeToLiveSecs", DEFAULT_TTL_S))

    def twin_desired(self, module: str) -> Mapping[str, Any]:
        """The desired properties the manifest sets for `module`'s twin ({} when it sets none)."""
        twin = self.content.get(module)
        return twin["properties.desired"] if isinstance(twin, dict) else {}
