"""Threshold and shake alerts that do not flood: hysteresis plus a minimum interval.

Pure logic, no I/O: feed it every sample and the current time, get back the
alerts to send. The rules, for each alert kind (`temperature_high`,
`humidity_low`, `shake`, ...):

- a kind is *armed* at start; an armed kind whose value crosses its threshold
  fires one alert and disarms;
- it re-arms only once the value is back past the threshold by `hysteresis`,
  so noise around the threshold cannot fire it again;
- a kind never fires twice within `min_interval_s`; a crossing inside that
  window stays pending and fires when the window ends if the value is still
  across the threshold.

Changing a rule re-arms its kind but keeps the time it last fired, so a twin
update cannot be used to beat the minimum interval.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sensor.settings import METRICS

SHAKE_HYSTERESIS_G = 0.3


@dataclass(frozen=True)
class Alert:
    kind: str
    value: float
    threshold: float
    ts: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Rule:
    kind: str
    metric: str  # a key of the values passed to `evaluate`
    threshold: float
    above: bool  # fire when the value goes above (True) or below (False) the threshold
    hysteresis: float

    def crossed(self, value: float) -> bool:
        return value > self.threshold if self.above else value < self.threshold

    def cleared(self, value: float) -> bool:
        return value <= self.threshold - self.hysteresis if self.above else value >= self.threshold + self.hysteresis


def rules_from_settings(settings: dict[str, Any]) -> list[Rule]:
    """The rules the twin settings ask for; a missing or null threshold means no rule."""
    rules = []
    for metric in METRICS:
        config = settings.get("thresholds", {}).get(metric, {})
        hysteresis = float(config.get("hysteresis", 0.0))
        for side, above in (("above", True), ("below", False)):
            if config.get(side) is not None:
                kind = f"{metric}_{'high' if above else 'low'}"
                rules.append(Rule(kind, metric, float(config[side]), above, hysteresis))
    if settings.get("shake_threshold_g") is not None:
        rules.append(Rule("shake", "accel_magnitude", float(settings["shake_threshold_g"]), True, SHAKE_HYSTERESIS_G))
    return rules


@dataclass
class _KindState:
    rule: Rule
    armed: bool = True
    last_fired: float | None = None


class AlertEngine:
    def __init__(self, rules: list[Rule], min_interval_s: float) -> None:
        self._states: dict[str, _KindState] = {}
        self.min_interval_s = min_interval_s
        self.configure(rules, min_interval_s)

    def configure(self, rules: list[Rule], min_interval_s: float) -> None:
        old = self._states
        self._states = {}
        for rule in rules:
            previous = old.get(rule.kind)
            last = previous.last_fired if previous else None
            armed = previous.armed if previous and previous.rule == rule else True
            self._states[rule.kind] = _KindState(rule, armed, last)
        self.min_interval_s = min_interval_s

    def evaluate(self, values: dict[str, float], now: float, ts: str) -> list[Alert]:
        """Alerts to send for one sample; `now` is a monotonic clock, `ts` the sample's timestamp."""
        alerts = []
        for state in self._states.values():
            rule = state.rule
            value = values[rule.metric]
            if state.armed and rule.crossed(value):
                if state.last_fired is None or now - state.last_fired >= self.min_interval_s:
                    alerts.append(Alert(rule.kind, round(value, 3), rule.threshold, ts))
                    state.armed = False
                    state.last_fired = now
            elif not state.armed and rule.cleared(value):
                state.armed = True
        return alerts
