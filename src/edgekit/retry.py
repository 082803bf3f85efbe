"""Exponential back-off with jitter, shared by uploads, cloud calls and reconnects."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    initial_s: float = 1.0
    maximum_s: float = 60.0
    factor: float = 2.0
    jitter: float = 0.1

    def delay(self, attempt: int) -> float:
        """Delay before retry number `attempt` (0-based), jittered so many clients do not retry in step."""
        base = min(self.maximum_s, self.initial_s * self.factor ** max(0, attempt))
        spread = base * self.jitter
        return max(0.0, base + random.uniform(-spread, spread))  # noqa: S311 - jitter, not security
