"""Alert rules: one alert per crossing, hysteresis against noise, a minimum interval against floods."""

from __future__ import annotations

import pytest
from sensor.alerts import AlertEngine, Rule, rules_from_settings
from sensor.settings import DEFAULTS

HOT = Rule("temperature_high", "temperature", 30.0, above=True, hysteresis=1.0)
COLD = Rule("temperature_low", "temperature", 5.0, above=False, hysteresis=1.0)


def run(engine: AlertEngine, values: list[float], start: float = 0.0, step: float = 1.0) -> list[tuple[float, str]]:
    fired = []
    for i, value in enumerate(values):
        now = start + i * step
        fired += [(now, a.kind) for a in engine.evaluate({"temperature": value}, now, f"t{now}")]
    return fired


def test_one_alert_per_crossing_not_per_sample() -> None:
    engine = AlertEngine([HOT], min_interval_s=0)
    assert run(engine, [25, 31, 32, 33, 31, 30.5]) == [(1.0, "temperature_high")]


def test_noise_around_the_threshold_does_not_refire_until_hysteresis_clears() -> None:
    engine = AlertEngine([HOT], min_interval_s=0)
    noisy = [29.5, 30.2, 29.8, 30.3, 29.6, 30.4]  # never below 29.0 = threshold - hysteresis
    assert run(engine, noisy) == [(1.0, "temperature_high")]
    assert run(engine, [28.9, 30.1], start=10) == [(11.0, "temperature_high")]


def test_min_interval_holds_a_crossing_pending_until_it_ends() -> None:
    engine = AlertEngine([HOT], min_interval_s=10)
    assert run(engine, [31, 28, 31, 31, 31], step=3) == [(0.0, "temperature_high"), (12.0, "temperature_high")]


def test_pending_crossing_that_clears_before_the_interval_ends_is_dropped() -> None:
    engine = AlertEngine([HOT], min_interval_s=10)
    assert run(engine, [31, 28, 31, 28, 28, 28], step=3) == [(0.0, "temperature_high")]


def test_below_rules_and_alert_shape() -> None:
    engine = AlertEngine([COLD], min_interval_s=0)
    alerts = engine.evaluate({"temperature": 4.25}, 0.0, "2026-01-01T00:00:00.000Z")
    assert [a.to_json() for a in alerts] == [
        {"kind": "temperature_low", "value": 4.25, "threshold": 5.0, "ts": "2026-01-01T00:00:00.000Z"}
    ]


def test_reconfiguring_rearms_a_changed_rule_but_keeps_the_min_interval() -> None:
    engine = AlertEngine([HOT], min_interval_s=100)
    assert run(engine, [31]) == [(0.0, "temperature_high")]
    lower = Rule("temperature_high", "temperature", 20.0, above=True, hysteresis=1.0)
    engine.configure([lower], 100)
    assert run(engine, [31], start=50) == []  # re-armed, but inside the interval: pending
    assert run(engine, [31], start=100) == [(100.0, "temperature_high")]


def test_unchanged_rule_stays_disarmed_across_configure() -> None:
    engine = AlertEngine([HOT], min_interval_s=0)
    run(engine, [31])
    engine.configure([HOT], 0)
    assert run(engine, [31, 31], start=1) == []


@pytest.mark.parametrize(
    ("settings", "kinds"),
    [
        (DEFAULTS, ["temperature_high", "temperature_low", "humidity_high", "humidity_low", "shake"]),
        (
            {**DEFAULTS, "shake_threshold_g": None, "thresholds": {"pressure": {"below": 980, "hysteresis": 1}}},
            ["pressure_low"],
        ),
    ],
)
def test_rules_from_settings(settings: dict, kinds: list[str]) -> None:
    assert [r.kind for r in rules_from_settings(settings)] == kinds


def test_shake_uses_acceleration_magnitude() -> None:
    (shake,) = [r for r in rules_from_settings(DEFAULTS) if r.kind == "shake"]
    engine = AlertEngine([shake], min_interval_s=0)
    quiet = {"accel_magnitude": 1.0}
    fired = [
        engine.evaluate(v, t, "ts")
        for t, v in enumerate([quiet, {"accel_magnitude": 2.6}, {"accel_magnitude": 3.1}, quiet])
    ]
    assert [[a.kind for a in f] for f in fired] == [[], ["shake"], [], []]
