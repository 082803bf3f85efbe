"""Start-up environment and twin settings, and the analyser configuration built from both.

The backend's secrets and locations come from the environment (they differ per
device and must not sit in a deployment manifest); what to look for and how hard
comes from the twin, so it can change without a restart.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vision.analyzers.base import FEATURES, AnalyzerConfig, BreakerRules, RetryRules, Thresholds

BACKENDS = ("local", "azure", "azure-v4", "hybrid")


@dataclass(frozen=True)
class VisionEnv:
    backend: str
    endpoint: str | None = None
    key: str | None = field(default=None, repr=False)
    storage_connection_string: str | None = field(default=None, repr=False)
    # /tmp survives a module restart (the container is kept) and is writable for the unprivileged user.
    cache_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "central-vision-cache")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> VisionEnv:
        """VISION_BACKEND, AZURE_VISION_ENDPOINT, AZURE_VISION_KEY, STORAGE_CONNECTION_STRING, VISION_CACHE_DIR."""
        endpoint = environ.get("AZURE_VISION_ENDPOINT") or None
        key = environ.get("AZURE_VISION_KEY") or None
        backend = environ.get("VISION_BACKEND") or ("hybrid" if endpoint and key else "local")
        if backend not in BACKENDS:
            raise ValueError(f"VISION_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
        cache_dir = environ.get("VISION_CACHE_DIR")
        return cls(
            backend=backend,
            endpoint=endpoint,
            key=key,
            storage_connection_string=environ.get("STORAGE_CONNECTION_STRING") or None,
            **({"cache_dir": Path(cache_dir)} if cache_dir else {}),
        )


def _number(minimum: float, maximum: float, integer: bool = False) -> dict[str, Any]:
    return {"type": "integer" if integer else "number", "minimum": minimum, "maximum": maximum}


SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "backend": {"enum": list(BACKENDS)},
        "features": {"type": "array", "items": {"enum": list(FEATURES)}, "uniqueItems": True},
        "thresholds": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "face_min_size": _number(24, 4000, integer=True),
                "face_min_neighbors": _number(1, 30, integer=True),
                "person_threshold": _number(0, 1),
                "motion": _number(0, 1),
                "min_confidence": _number(0, 1),
            },
        },
        "hybrid": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "cloud": {"enum": ["azure", "azure-v4"]},
                "failures_to_open": _number(1, 100, integer=True),
                "cooldown_s": _number(0.01, 3600),
                "max_cooldown_s": _number(0.01, 86400),
            },
        },
        "retry": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"max_attempts": _number(1, 10, integer=True), "max_wait_s": _number(0, 300)},
        },
        "cache_size": _number(0, 1_000_000, integer=True),
        "photos_container": {"type": "string", "minLength": 3, "maxLength": 63, "pattern": "^[a-z0-9](-?[a-z0-9])*$"},
    },
}


def default_settings(env: VisionEnv) -> dict[str, Any]:
    return {
        "backend": env.backend,
        "features": list(FEATURES),
        "thresholds": {
            "face_min_size": 40,
            "face_min_neighbors": 5,
            "person_threshold": 0.5,
            "motion": 0.02,
            "min_confidence": 0.0,
        },
        "hybrid": {"cloud": "azure", "failures_to_open": 3, "cooldown_s": 30.0, "max_cooldown_s": 600.0},
        "retry": {"max_attempts": 3, "max_wait_s": 10.0},
        "cache_size": 10_000,
        "photos_container": "photos",
    }


def analyzer_config(values: Mapping[str, Any], env: VisionEnv) -> AnalyzerConfig:
    """The analysers' configuration from the effective settings (partial objects fall back to defaults)."""
    hybrid = dict(values.get("hybrid") or {})
    cloud = hybrid.pop("cloud", "azure")
    return AnalyzerConfig(
        features=frozenset(values.get("features", FEATURES)),
        thresholds=Thresholds(**(values.get("thresholds") or {})),
        endpoint=env.endpoint,
        key=env.key,
        retry=RetryRules(**(values.get("retry") or {})),
        cloud=cloud,
        breaker=BreakerRules(**hybrid),
    )
