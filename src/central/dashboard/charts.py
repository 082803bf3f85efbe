"""Line charts as plain SVG, rendered on the server.

No chart library and no build step: a polyline per series is all a sensor
chart over the last hour needs, and it shows without JavaScript.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 480, 160, 28


@dataclass(frozen=True)
class Chart:
    title: str
    unit: str
    points: list[tuple[float, float]]  # (epoch seconds, value)


def _scale(value: float, low: float, high: float, size: float) -> float:
    return 0.0 if high == low else (value - low) / (high - low) * size


def polyline(points: Sequence[tuple[float, float]]) -> str:
    """The `points` attribute of an SVG polyline that fits the chart area (y grows downwards)."""
    if not points:
        return ""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    if y0 == y1:
        y0, y1 = y0 - 1, y1 + 1
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    coords = (
        f"{PAD + _scale(x, x0, x1, inner_w):.1f},{HEIGHT - PAD - _scale(y, y0, y1, inner_h):.1f}" for x, y in points
    )
    return " ".join(coords)


def value_range(points: Sequence[tuple[float, float]]) -> tuple[float, float] | None:
    if not points:
        return None
    ys = [p[1] for p in points]
    return min(ys), max(ys)
