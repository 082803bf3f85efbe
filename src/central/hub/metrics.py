"""A small Prometheus text-format registry: counters and gauges with labels.

The router counts into it, the hub adds its own families (connected modules), and the `/metrics`
endpoint serves `render()`. Exposition format 0.0.4: HELP and TYPE lines, then one sample per
label set, label values escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Labels = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass
class Family:
    """One metric name: its help text, label names and the value of each label set."""

    name: str
    help: str
    kind: Literal["counter", "gauge"]
    label_names: Labels
    values: dict[Labels, float] = field(default_factory=dict)
    collect: Callable[[], dict[Labels, float]] | None = None  # a gauge read when rendered

    def inc(self, *labels: str, amount: float = 1) -> None:
        self.values[labels] = self.values.get(labels, 0) + amount

    def set(self, *labels: str, value: float) -> None:
        self.values[labels] = value

    def render(self) -> str:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        values = self.collect() if self.collect else self.values
        for labels, value in sorted(values.items()):
            pairs = ",".join(f'{n}="{_escape(v)}"' for n, v in zip(self.label_names, labels, strict=True))
            lines.append(f"{self.name}{{{pairs}}} {_number(value)}" if pairs else f"{self.name} {_number(value)}")
        return "\n".join(lines) + "\n"


class MetricsRegistry:
    def __init__(self) -> None:
        self.families: dict[str, Family] = {}

    def counter(self, name: str, help: str, *label_names: str) -> Family:
        return self._add(Family(name, help, "counter", label_names))

    def gauge(
        self, name: str, help: str, *label_names: str, collect: Callable[[], dict[Labels, float]] | None = None
    ) -> Family:
        return self._add(Family(name, help, "gauge", label_names, collect=collect))

    def _add(self, family: Family) -> Family:
        if family.name in self.families:
            raise ValueError(f"metric {family.name} is already registered")
        self.families[family.name] = family
        return family

    def render(self) -> str:
        return "".join(f.render() for f in self.families.values())
