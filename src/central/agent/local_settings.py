"""Local overrides for `central up`, read from `central.local.toml` (git-ignored).

The deployment manifest describes the Pi; on a laptop some module settings must
differ (simulated camera and Sense HAT, blob storage in the local Azurite). They
come from this file, never from edits to the manifest. Without a file the
defaults below apply, so `make run` works on a fresh machine. See
`central.local.example.toml` for every key.

Values may use `${AZURITE_CONNECTION_STRING}`, `${BIND}` and `${STATE_DIR}`,
filled in when the edge starts.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

DEFAULT_PATH = Path("central.local.toml")
DEFAULT_ENV: Mapping[str, str] = {
    "CAMERA_BACKEND": "synthetic",
    "SENSE_BACKEND": "simulated",
    "VISION_BACKEND": "local",
    "STORAGE_CONNECTION_STRING": "${AZURITE_CONNECTION_STRING}",
}
# Module data that a device keeps in bind-mounted host folders lives in the state dir here.
DEFAULT_MODULE_ENV: Mapping[str, Mapping[str, str]] = {
    "camera": {"CAMERA_SPOOL_DIR": "${STATE_DIR}/camera/spool"},
    "vision": {"VISION_CACHE_DIR": "${STATE_DIR}/vision/cache"},
}
DEFAULT_CONTAINERS = ("photos", "videos")


class LocalSettingsError(ValueError):
    """The settings file is unreadable or a field is wrong; the message names the file and field."""


@dataclass(frozen=True)
class LocalSettings:
    device_id: str = "edge-local"
    bind: str = "127.0.0.1"
    containers: tuple[str, ...] = DEFAULT_CONTAINERS
    env: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ENV))
    module_env: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: dict(DEFAULT_MODULE_ENV))

    def env_for(self, module: str, values: Mapping[str, str]) -> dict[str, str]:
        """The overrides for `module` (all-module env, then its own), placeholders filled from `values`."""
        merged = {**self.env, **self.module_env.get(module, {})}
        try:
            return {k: Template(v).substitute(values) for k, v in merged.items()}
        except (KeyError, ValueError) as e:
            raise LocalSettingsError(f"env of {module}: unknown placeholder {e} (known: {', '.join(values)})") from e


def loopback_address(value: str, where: str) -> str:
    """`value` if it is an IPv4 loopback address, else LocalSettingsError naming `where`.

    The local servers have no login (dashboard) or a published key (Azurite), so
    they must never be reachable from the network; the hub's certificate also
    needs an IP address, not a name.
    """
    try:
        loopback = ipaddress.IPv4Address(value).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise LocalSettingsError(f"{where} {value!r} is not a loopback address; use 127.0.0.1 or another 127.x.y.z")
    return value


def _string_map(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise LocalSettingsError(f"{where} must be a table of strings")
    return dict(value)


def _string(doc: Mapping[str, Any], key: str, default: str, where: Path) -> str:
    value = doc.get(key, default)
    if not isinstance(value, str) or not value:
        raise LocalSettingsError(f"{where}: {key} must be a non-empty string")
    return value


def parse(doc: Mapping[str, Any], where: Path = DEFAULT_PATH) -> LocalSettings:
    containers = doc.get("containers", list(DEFAULT_CONTAINERS))
    if not isinstance(containers, list) or not all(isinstance(c, str) for c in containers):
        raise LocalSettingsError(f"{where}: containers must be a list of strings")
    modules = doc.get("modules", {})
    if not isinstance(modules, dict):
        raise LocalSettingsError(f"{where}: modules must be a table")
    return LocalSettings(
        device_id=_string(doc, "device_id", "edge-local", where),
        bind=loopback_address(_string(doc, "bind", "127.0.0.1", where), f"{where}: bind"),
        containers=tuple(containers),
        env={**DEFAULT_ENV, **_string_map(doc.get("env", {}), f"{where}: env")},
        module_env={
            **DEFAULT_MODULE_ENV,
            **{
                name: {
                    **DEFAULT_MODULE_ENV.get(name, {}),
                    **_string_map(
                        table.get("env", {}) if isinstance(table, dict) else None, f"{where}: modules.{name}.env"
                    ),
                }
                for name, table in modules.items()
            },
        },
    )


def load(path: Path | None = None) -> LocalSettings:
    """The settings in `path` (default `./central.local.toml`); the defaults if that file does not exist."""
    path = path or DEFAULT_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LocalSettings()
    except OSError as e:
        raise LocalSettingsError(f"{path}: {e.strerror}") from e
    try:
        return parse(tomllib.loads(text), path)
    except tomllib.TOMLDecodeError as e:
        raise LocalSettingsError(f"{path}: {e}") from e
