"""A generated scene, the default camera off the device.

It gives the rest of the system something worth looking at without hardware:
shapes that move (so consecutive photos differ and motion can be seen), a face
drawn so that OpenCV's Haar frontal-face cascade finds it (so the vision module
has a face to detect), a person silhouette that walks across for part of every
cycle, and a timestamp. The picture is a pure function of (seed, time), so a
test can ask for the scene at a given moment and get the same pixels every time.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import cv2
import numpy as np

from camera.backends.base import Camera

PERSON_CYCLE_S = 30.0  # a silhouette walks across during the first PERSON_WALK_S of every cycle
PERSON_WALK_S = 12.0


@dataclass(frozen=True)
class _Shape:
    kind: str
    color: tuple[int, int, int]
    size: float  # fraction of the shorter side
    speed: tuple[float, float]  # fraction of the frame per second
    phase: tuple[float, float]


def _bounce(phase: float, speed: float, t: float) -> float:
    """A position in [0, 1] that moves at `speed` and bounces off the edges."""
    x = (phase + speed * t) % 2.0
    return 2.0 - x if x > 1.0 else x


class SyntheticScene:
    def __init__(self, seed: int = 0) -> None:
        rng = random.Random(seed)  # noqa: S311 - a reproducible scene, not a secret
        self.seed = seed
        self._shapes = [
            _Shape(
                kind=rng.choice(["circle", "square", "triangle"]),
                color=(rng.randint(40, 255), rng.randint(40, 255), rng.randint(40, 255)),
                size=rng.uniform(0.05, 0.12),
                speed=(rng.uniform(0.02, 0.08), rng.uniform(0.02, 0.08)),
                phase=(rng.uniform(0, 2), rng.uniform(0, 2)),
            )
            for _ in range(5)
        ]
        self._sky = (rng.randint(90, 140), rng.randint(70, 110), rng.randint(40, 80))
        self._backgrounds: dict[tuple[int, int], np.ndarray] = {}

    def render(self, t: float, width: int, height: int) -> np.ndarray:
        """The scene `t` seconds after the epoch, as a BGR frame of `width` x `height`."""
        frame = self._background(width, height).copy()
        for shape in self._shapes:
            self._draw_shape(frame, shape, t)
        if t % PERSON_CYCLE_S < PERSON_WALK_S:
            draw_person(frame, (t % PERSON_CYCLE_S) / PERSON_WALK_S)
        side = min(width, height)
        cx = width * (0.5 + 0.2 * math.sin(t * 2 * math.pi / 40.0))
        draw_face(frame, round(cx), round(height * 0.45), round(side * 0.38))
        stamp = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
        scale = max(0.4, side / 900)
        cv2.putText(frame, stamp, (10, height - 12), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2, cv2.LINE_AA)
        return frame

    def _background(self, width: int, height: int) -> np.ndarray:
        """A vertical gradient (sky to floor), built once per size because frames are taken at few sizes."""
        key = (width, height)
        if key not in self._backgrounds:
            ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
            sky = np.array(self._sky, np.float32)
            floor = np.array((60, 90, 70), np.float32)
            column = (sky * (1 - ramp) + floor * ramp).astype(np.uint8)
            self._backgrounds[key] = np.ascontiguousarray(np.broadcast_to(column, (height, width, 3)))
            if len(self._backgrounds) > 4:
                self._backgrounds.pop(next(iter(self._backgrounds)))
        return self._backgrounds[key]

    @staticmethod
    def _draw_shape(frame: np.ndarray, shape: _Shape, t: float) -> None:
        height, width = frame.shape[:2]
        r = max(2, round(min(width, height) * shape.size / 2))
        x = round(r + _bounce(shape.phase[0], shape.speed[0], t) * (width - 2 * r))
        y = round(r + _bounce(shape.phase[1], shape.speed[1], t) * (height - 2 * r))
        if shape.kind == "circle":
            cv2.circle(frame, (x, y), r, shape.color, -1, cv2.LINE_AA)
        elif shape.kind == "square":
            cv2.rectangle(frame, (x - r, y - r), (x + r, y + r), shape.color, -1, cv2.LINE_AA)
        else:
            points = np.array([(x, y - r), (x - r, y + r), (x + r, y + r)], np.int32)
            cv2.fillPoly(frame, [points], shape.color, cv2.LINE_AA)


def draw_face(frame: np.ndarray, cx: int, cy: int, s: int) -> None:
    """A cartoon face of height about `s`: the dark-eyes, light-cheeks pattern Haar cascades look for."""

    def at(dx: float, dy: float) -> tuple[int, int]:
        return cx + round(s * dx), cy + round(s * dy)

    def axes(ax: float, ay: float) -> tuple[int, int]:
        return max(1, round(s * ax)), max(1, round(s * ay))

    cv2.ellipse(frame, (cx, cy), axes(0.5, 0.65), 0, 0, 360, (150, 180, 220), -1, cv2.LINE_AA)
    cv2.ellipse(frame, at(0, -0.45), axes(0.52, 0.28), 0, 180, 360, (40, 50, 60), -1, cv2.LINE_AA)
    for side in (-1, 1):
        cv2.ellipse(frame, at(side * 0.2, -0.22), axes(0.12, 0.03), 0, 0, 360, (50, 60, 70), -1, cv2.LINE_AA)
        cv2.ellipse(frame, at(side * 0.2, -0.12), axes(0.11, 0.05), 0, 0, 360, (250, 250, 250), -1, cv2.LINE_AA)
        cv2.circle(frame, at(side * 0.2, -0.12), max(1, round(s * 0.045)), (40, 30, 20), -1, cv2.LINE_AA)
    cv2.ellipse(frame, at(0, 0.12), axes(0.06, 0.03), 0, 0, 360, (110, 140, 180), -1, cv2.LINE_AA)
    cv2.ellipse(frame, at(0, 0.32), axes(0.18, 0.06), 0, 0, 360, (70, 70, 160), -1, cv2.LINE_AA)


def draw_person(frame: np.ndarray, progress: float) -> None:
    """A dark standing figure, `progress` (0..1) of the way across the frame from left to right."""
    height, width = frame.shape[:2]
    h = height * 0.6
    x = round(-0.1 * width + progress * 1.2 * width)
    top = round(height * 0.95 - h)
    color = (30, 30, 35)
    head = round(h * 0.07)
    cv2.circle(frame, (x, top + head), head, color, -1, cv2.LINE_AA)
    body_w = round(h * 0.1)
    cv2.rectangle(frame, (x - body_w, top + 2 * head), (x + body_w, top + round(h * 0.55)), color, -1)
    stride = round(h * 0.08 * math.sin(progress * 40))
    thickness = max(2, round(h * 0.05))
    for sign in (-1, 1):
        hip = (x + sign * body_w // 2, top + round(h * 0.55))
        cv2.line(frame, hip, (x + sign * stride, top + round(h)), color, thickness, cv2.LINE_AA)
        shoulder = (x + sign * body_w, top + 2 * head + thickness)
        cv2.line(frame, shoulder, (x - sign * stride + sign * body_w, top + round(h * 0.5)), color, thickness)


class SyntheticCamera(Camera):
    """The scene at the wall-clock time of each capture."""

    name = "synthetic"

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.scene = SyntheticScene(seed)

    def _open(self) -> None:
        """Nothing to open: the scene is generated."""

    def _close(self) -> None:
        """Nothing to release."""

    def _grab(self, width: int, height: int) -> np.ndarray:
        return self.scene.render(time.time(), width, height)
