"""Cloud first, the device when the cloud cannot answer.

The hybrid analyser asks the configured cloud backend and, when it is
unreachable, over quota or refuses the key, analyses on the device instead and
says so in `fallback`. A circuit breaker keeps a dead endpoint from being asked
about every photo: after `failures_to_open` failures in a row it stays open for
a cool-down (the server's Retry-After when longer, doubling while it keeps
failing), then lets one photo try the cloud again (half-open). A bad image is
not a cloud failure: it is reported as an error, as the cloud would.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from vision.analyzers.base import Analyzer, AnalyzerConfig, BreakerRules
from vision.analyzers.local import LocalAnalyzer
from vision.errors import CLOUD_DOWN_KINDS, AnalysisError
from vision.result import Findings, PhotoRef

log = logging.getLogger(__name__)


class CircuitBreaker:
    """closed (cloud in use) → open (cloud skipped until `retry_at`) → half-open (one trial call)."""

    def __init__(self, rules: BreakerRules, clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = rules
        self._clock = clock
        self._failures = 0
        self._opened = 0  # consecutive openings, for the doubling cool-down
        self._retry_at = 0.0
        self._trial = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            if self._failures < self.rules.failures_to_open:
                return "closed"
            return "half-open" if self._trial or self._clock() >= self._retry_at else "open"

    def allow(self) -> bool:
        """May this call go to the cloud? In half-open state only one call at a time may."""
        with self._lock:
            if self._failures < self.rules.failures_to_open:
                return True
            if self._trial or self._clock() < self._retry_at:
                return False
            self._trial = True
            return True

    def success(self) -> None:
        with self._lock:
            self._failures, self._opened, self._trial = 0, 0, False

    def failure(self, retry_after_s: float | None = None) -> None:
        with self._lock:
            self._failures += 1
            self._trial = False
            if self._failures >= self.rules.failures_to_open:
                cooldown = min(self.rules.max_cooldown_s, self.rules.cooldown_s * 2**self._opened)
                self._opened += 1
                self._retry_at = self._clock() + max(cooldown, retry_after_s or 0.0)


class HybridAnalyzer(Analyzer):
    name = "hybrid"

    def __init__(self, config: AnalyzerConfig, cloud: Analyzer | None = None, local: Analyzer | None = None) -> None:
        from vision.analyzers import create_analyzer  # the registry imports this module

        if config.cloud not in ("azure", "azure-v4"):
            raise ValueError(f"hybrid cloud backend must be azure or azure-v4, not {config.cloud!r}")
        self.cloud = cloud or create_analyzer(config.cloud, config)
        self.local = local or LocalAnalyzer(config)
        self.breaker = CircuitBreaker(config.breaker)
        self.fallbacks = 0

    def analyze(self, data: bytes, photo: PhotoRef) -> Findings:
        if not self.breaker.allow():
            return self._fall_back(data, photo, "circuit open")
        try:
            findings = self.cloud.analyze(data, photo)
        except AnalysisError as e:
            if e.kind not in CLOUD_DOWN_KINDS:
                self.breaker.success()  # the cloud answered; the photo was the problem
                raise
            self.breaker.failure(e.retry_after_s)
            log.warning(
                "%s unavailable (%s); analysing on the device (circuit %s)", self.cloud.name, e.code, self.breaker.state
            )
            return self._fall_back(data, photo, e.code)
        except Exception:
            self.breaker.failure()  # a half-open trial must end either way, or the cloud is never tried again
            raise
        self.breaker.success()
        return findings

    def _fall_back(self, data: bytes, photo: PhotoRef, reason: str) -> Findings:
        self.fallbacks += 1
        findings = self.local.analyze(data, photo)
        findings.fallback = {"from": self.cloud.name, "reason": reason}
        return findings

    def status(self) -> dict[str, object]:
        return {
            "cloud": self.cloud.name,
            "circuit": self.breaker.state,
            "fallbacks": self.fallbacks,
            **self.cloud.status(),
        }

    def close(self) -> None:
        self.cloud.close()
        self.local.close()
