"""The `Analyzer` interface and the configuration every backend is built from.

One small interface (`analyze(data, photo) -> Findings`) lets the pipeline,
the hybrid fallback and the benchmark treat Azure v3.2, Image Analysis 4.0 and
OpenCV alike. Analysers are synchronous (both Azure SDKs and OpenCV block); the
pipeline runs them in a worker thread. Settings changes build new analysers from
a new `AnalyzerConfig` rather than mutating live ones, so a running analysis
never sees half a change.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from vision.result import Findings, PhotoRef

T = TypeVar("T")

FEATURES = ("tags", "caption", "objects", "faces", "people", "color", "motion")


@dataclass(frozen=True)
class Thresholds:
    face_min_size: int = 40  # pixels in the original photo
    face_min_neighbors: int = 5
    person_threshold: float = 0.5  # minimum confidence for a person (local HOG and cloud objects)
    motion: float = 0.02  # fraction of changed pixels that counts as motion
    min_confidence: float = 0.0  # tags and objects below this are dropped


@dataclass(frozen=True)
class RetryRules:
    max_attempts: int = 3
    max_wait_s: float = 10.0  # a Retry-After longer than this is "over quota", not a pause
    backoff_initial_s: float = 1.0


@dataclass(frozen=True)
class BreakerRules:
    failures_to_open: int = 3
    cooldown_s: float = 30.0
    max_cooldown_s: float = 600.0


@dataclass(frozen=True)
class AnalyzerConfig:
    features: frozenset[str] = frozenset(FEATURES)
    thresholds: Thresholds = field(default_factory=Thresholds)
    endpoint: str | None = None
    key: str | None = field(default=None, repr=False)  # never in logs or reprs
    retry: RetryRules = field(default_factory=RetryRules)
    cloud: str = "azure"  # what hybrid tries first
    breaker: BreakerRules = field(default_factory=BreakerRules)
    request_timeout_s: float = 30.0


class Analyzer(ABC):
    """Turns one image into `Findings`, or raises `AnalysisError` saying why it could not."""

    name: str

    @abstractmethod
    def analyze(self, data: bytes, photo: PhotoRef) -> Findings: ...

    def status(self) -> dict[str, object]:
        """What the twin's reported properties show about this analyser (circuit state, auth)."""
        return {}

    def close(self) -> None:  # noqa: B027 - most analysers hold nothing to release
        """Release connections; called when settings replace this analyser."""


def timed(stages: dict[str, float], stage: str, run: Callable[[], T]) -> T:
    """`run()`, adding its wall time in milliseconds to `stages[stage]` (results carry where time went)."""
    start = time.perf_counter()
    try:
        return run()
    finally:
        stages[stage] = stages.get(stage, 0.0) + (time.perf_counter() - start) * 1000.0
