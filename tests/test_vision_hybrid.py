"""Hybrid: the cloud first, the device while the cloud is down, the cloud again once it is back."""

from __future__ import annotations

import pytest
from vision.analyzers import create_analyzer
from vision.analyzers.base import Analyzer, AnalyzerConfig, BreakerRules, RetryRules
from vision.analyzers.hybrid import CircuitBreaker, HybridAnalyzer
from vision.errors import AnalysisError
from vision.result import Findings, PhotoRef

from tests.fixtures.camera_photos import astronaut_jpeg
from tests.fixtures.fake_vision import FakeVision, error

ASTRONAUT = astronaut_jpeg()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def hybrid(
    fake: FakeVision, cloud: str = "azure", failures: int = 2, cooldown_s: float = 30, clock: Clock | None = None
) -> HybridAnalyzer:
    config = AnalyzerConfig(
        endpoint=fake.endpoint,
        key=fake.key,
        cloud=cloud,
        retry=RetryRules(max_attempts=1),
        breaker=BreakerRules(failures_to_open=failures, cooldown_s=cooldown_s, max_cooldown_s=cooldown_s),
    )
    analyzer = create_analyzer("hybrid", config)
    assert isinstance(analyzer, HybridAnalyzer)
    analyzer.breaker = CircuitBreaker(config.breaker, clock or Clock())
    return analyzer


@pytest.mark.parametrize("cloud", ["azure", "azure-v4"])
def test_falls_back_while_the_cloud_is_down_and_returns_when_it_is_back(fake_vision: FakeVision, cloud: str) -> None:
    clock = Clock()
    analyzer = hybrid(fake_vision, cloud, clock=clock)
    assert analyzer.analyze(ASTRONAUT, PhotoRef()).backend == cloud

    fake_vision.stop()
    down = [analyzer.analyze(ASTRONAUT, PhotoRef()) for _ in range(4)]
    assert [f.backend for f in down] == ["local"] * 4
    assert [f.fallback["reason"] for f in down if f.fallback] == [
        "Unreachable",
        "Unreachable",
        "circuit open",
        "circuit open",
    ]
    assert down[0].fallback == {"from": cloud, "reason": "Unreachable"}
    assert len(down[0].faces) == 1  # the device still finds the face
    assert analyzer.status()["circuit"] == "open"

    fake_vision.start()
    calls = len(fake_vision.seen)
    assert analyzer.analyze(ASTRONAUT, PhotoRef()).fallback == {"from": cloud, "reason": "circuit open"}
    clock.now += 30  # the cool-down has passed: one photo tries the cloud again
    back = analyzer.analyze(ASTRONAUT, PhotoRef())
    assert back.backend == cloud and len(fake_vision.seen) == calls + 1
    assert analyzer.status()["circuit"] == "closed"


def test_over_quota_falls_back_and_keeps_the_circuit_open_for_retry_after(fake_vision: FakeVision) -> None:
    clock = Clock()
    analyzer = hybrid(fake_vision, failures=1, cooldown_s=0.01, clock=clock)
    fake_vision.queue(error(429, "429", "Out of call volume quota.", **{"Retry-After": "3600"}))
    first = analyzer.analyze(ASTRONAUT, PhotoRef())
    assert first.fallback == {"from": "azure", "reason": "429"}
    clock.now += 60
    assert analyzer.analyze(ASTRONAUT, PhotoRef()).fallback == {"from": "azure", "reason": "circuit open"}
    assert len(fake_vision.seen) == 1  # Retry-After (an hour) outlasts the 10 ms cool-down
    clock.now += 3600
    assert analyzer.analyze(ASTRONAUT, PhotoRef()).fallback is None


def test_a_refused_key_falls_back(fake_vision: FakeVision) -> None:
    analyzer = hybrid(fake_vision)
    fake_vision.key = "another-key"  # the service no longer takes the module's key
    assert analyzer.analyze(ASTRONAUT, PhotoRef()).fallback == {"from": "azure", "reason": "401"}


def test_a_bad_image_is_an_error_not_a_fallback(fake_vision: FakeVision) -> None:
    analyzer = hybrid(fake_vision, failures=1)
    fake_vision.queue(error(400, "InvalidRequest", "Input data is not a valid image.", "InvalidImageFormat"))
    with pytest.raises(AnalysisError) as caught:
        analyzer.analyze(ASTRONAUT, PhotoRef())
    assert caught.value.code == "InvalidImageFormat"
    assert analyzer.status()["circuit"] == "closed"


def test_breaker_opens_after_failures_doubles_cool_down_and_allows_one_trial() -> None:
    clock = Clock()
    breaker = CircuitBreaker(BreakerRules(failures_to_open=2, cooldown_s=10, max_cooldown_s=15), clock)
    breaker.failure()
    assert breaker.allow() and breaker.state == "closed"
    breaker.failure()
    assert not breaker.allow() and breaker.state == "open"
    clock.now += 10
    assert breaker.allow() and not breaker.allow()  # half-open: one trial at a time
    breaker.failure()
    clock.now += 10
    assert not breaker.allow()  # cool-down doubled to 20, capped at 15
    clock.now += 5
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()


class BrokenOnce(Analyzer):
    """A cloud analyser whose first call hits a bug (an exception that is not an `AnalysisError`)."""

    name = "azure"

    def __init__(self) -> None:
        self.calls = 0

    def analyze(self, data: bytes, photo: PhotoRef) -> Findings:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("a bug in the SDK")
        return Findings("azure", "test", 512, 512)


def test_a_bug_during_the_half_open_trial_does_not_leave_the_circuit_stuck() -> None:
    clock = Clock()
    cloud = BrokenOnce()
    config = AnalyzerConfig(endpoint="http://127.0.0.1:9", key="k", breaker=BreakerRules(1, 10, 10))
    analyzer = HybridAnalyzer(config, cloud=cloud)
    analyzer.breaker = CircuitBreaker(config.breaker, clock)
    analyzer.breaker.failure()  # open
    clock.now += 10  # half-open: the next photo is the trial
    with pytest.raises(RuntimeError):
        analyzer.analyze(ASTRONAUT, PhotoRef())
    clock.now += 20
    assert analyzer.analyze(ASTRONAUT, PhotoRef()).fallback is None
    assert cloud.calls == 2


def test_hybrid_refuses_a_cloud_that_is_not_one() -> None:
    with pytest.raises(ValueError, match="azure or azure-v4"):
        HybridAnalyzer(AnalyzerConfig(endpoint="http://127.0.0.1:9", key="k", cloud="local"))
