"""Backends chosen by configuration, imported only when chosen.

A camera on a laptop has no picamera2 and a vision module offline needs no
cloud SDK, so each backend is a dotted path imported on first use; a missing
library disables only that backend and says which package brings it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class MissingBackendError(RuntimeError):
    """The configured backend cannot load here; the message names the package to install."""


@dataclass(frozen=True)
class _Entry:
    target: str
    needs: str


class BackendRegistry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, _Entry] = {}

    def register(self, name: str, target: str, needs: str) -> None:
        """`target` is 'package.module:Class'; `needs` says what provides its libraries."""
        self._entries[name] = _Entry(target, needs)

    @property
    def names(self) -> list[str]:
        return sorted(self._entries)

    def load(self, name: str) -> type[T]:
        if name not in self._entries:
            raise ValueError(f"unknown {self.kind} backend {name!r}; choose one of {', '.join(self.names)}")
        entry = self._entries[name]
        module_name, _, attr = entry.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            raise MissingBackendError(
                f"{self.kind} backend {name!r} needs {entry.needs} ({e.name or e} is not installed)"
            ) from e
        return getattr(module, attr)

    def create(self, name: str, **options: Any) -> T:
        return self.load(name)(**options)
