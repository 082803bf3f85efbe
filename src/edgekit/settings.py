"""Module settings bound to the module twin's desired properties.

Each top-level setting is validated on its own, so one bad value in a patch is
rejected (with its reason, reported back through the twin) while the good ones
apply and the last good value of the bad one stays in force. A desired value of
null restores the default, which is what removing a property means in a twin.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edgekit.validation import InvalidInput, Schema


@dataclass
class SettingsChange:
    changed: dict[str, Any] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)


def _merge(base: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7386), the way twin patches combine with what is there."""
    if not isinstance(patch, dict) or not isinstance(base, dict):
        return copy.deepcopy(patch)
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(base.get(key), value)
    return merged


class Settings:
    def __init__(
        self,
        schema: dict[str, Any],
        defaults: dict[str, Any],
        checks: Mapping[str, Callable[[Any], object]] | None = None,
    ) -> None:
        """`checks` hold what a schema says badly (a 'WxH' size within limits): each raises InvalidInput."""
        self._properties = {name: Schema(sub) for name, sub in schema.get("properties", {}).items()}
        self._checks = dict(checks or {})
        self._defaults = copy.deepcopy(defaults)
        for name, value in defaults.items():
            self._check(name, value)
        self._values = copy.deepcopy(defaults)
        self._rejected: dict[str, str] = {}

    def _check(self, name: str, value: Any) -> None:
        self._property(name).check(value)
        if name in self._checks:
            self._checks[name](value)

    def _property(self, name: str) -> Schema:
        if name not in self._properties:
            raise InvalidInput(name, "unknown setting")
        return self._properties[name]

    @property
    def values(self) -> dict[str, Any]:
        return copy.deepcopy(self._values)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def apply(self, desired: dict[str, Any]) -> SettingsChange:
        """Apply a full desired document or a patch; keys starting with '$' are twin metadata."""
        change = SettingsChange()
        for name, raw in desired.items():
            if name.startswith("$"):
                continue
            try:
                self._property(name)
                value = copy.deepcopy(self._defaults.get(name)) if raw is None else _merge(self._values.get(name), raw)
                if value is not None:
                    self._check(name, value)
            except InvalidInput as e:
                reason = e.message if e.field in ("", name) else f"{e.field}: {e.message}"
                change.rejected[name] = reason
                continue
            if value != self._values.get(name):
                self._values[name] = value
                change.changed[name] = copy.deepcopy(value)
            self._rejected.pop(name, None)
        self._rejected.update(change.rejected)
        return change

    def reported(self) -> dict[str, Any]:
        """Reported properties: the effective settings and the settings rejected, with reasons."""
        return {"settings": self.values, "rejected": dict(self._rejected) or None}
