"""A generated scene, the default camera off the device.

It gives the rest of the system something worth looking at without hardware:
shapes that move (so consecutive photos differ and motion can be seen), a face
drawn so that OpenCV's Haar frontal-face cascade finds it (so the vision module
has a face to detect), a person silhouette that walks across for part of every
cycle, and a timestamp. The picture is a pure function of (seed, time), so a
test can ask for the scene at a given moment and get the same pixels every time.
It is drawn with Pillow (colours are R, G, B), so the default camera needs
neither numpy nor OpenCV.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from camera.backends.base import Camera

PERSON_CYCLE_S = 30.0  # a silhouette walks across during the first PERSON_WALK_S of every cycle
PERSON_WALK_S = 12.0
PERSON_COLOR = (35, 30, 30)  # R, G, B: a colour nothing else in the scene uses, so tests can find the figure


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
        blue, green, red = rng.randint(90, 140), rng.randint(70, 110), rng.randint(40, 80)
        self._sky = (red, green, blue)
        self._gradients: dict[int, Image.Image] = {}

    def render(self, t: float, width: int, height: int) -> Image.Image:
        """The scene `t` seconds after the epoch, as an RGB image of `width` x `height`."""
        frame = self._gradient(height).resize((width, height), Image.Resampling.NEAREST)
        draw = ImageDraw.Draw(frame)
        for shape in self._shapes:
            self._draw_shape(draw, shape, t, width, height)
        if t % PERSON_CYCLE_S < PERSON_WALK_S:
            draw_person(draw, width, height, (t % PERSON_CYCLE_S) / PERSON_WALK_S)
        side = min(width, height)
        cx = width * (0.5 + 0.2 * math.sin(t * 2 * math.pi / 40.0))
        draw_face(draw, round(cx), round(height * 0.45), round(side * 0.38))
        stamp = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"
        font = _font(max(11, round(side / 28)))
        draw.text((10, height - 10), stamp, fill=(255, 255, 255), font=font, anchor="ls", stroke_width=1)
        return frame

    def _gradient(self, height: int) -> Image.Image:
        """A one-pixel-wide vertical gradient (sky to floor), built once per height; stretched per frame.

        Keeping only the strip, not a full background, saves a frame's memory (3.7 MB at 1280x720) for
        each size in use; stretching it costs a fraction of a millisecond.
        """
        if height not in self._gradients:
            floor = (70, 90, 60)
            column = bytearray()
            for row in range(height):
                ramp = row / (height - 1) if height > 1 else 0.0
                column += bytes(int(s * (1 - ramp) + f * ramp) for s, f in zip(self._sky, floor, strict=True))
            self._gradients[height] = Image.frombytes("RGB", (1, height), bytes(column))
            if len(self._gradients) > 8:
                self._gradients.pop(next(iter(self._gradients)))
        return self._gradients[height]

    @staticmethod
    def _draw_shape(draw: ImageDraw.ImageDraw, shape: _Shape, t: float, width: int, height: int) -> None:
        r = max(2, round(min(width, height) * shape.size / 2))
        x = round(r + _bounce(shape.phase[0], shape.speed[0], t) * (width - 2 * r))
        y = round(r + _bounce(shape.phase[1], shape.speed[1], t) * (height - 2 * r))
        if shape.kind == "circle":
            draw.ellipse((x - r, y - r, x + r, y + r), fill=shape.color)
        elif shape.kind == "square":
            draw.rectangle((x - r, y - r, x + r, y + r), fill=shape.color)
        else:
            draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=shape.color)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at `size` pixels, loaded once per size."""
    return ImageFont.load_default(size)


def draw_face(draw: ImageDraw.ImageDraw, cx: int, cy: int, s: int) -> None:
    """A cartoon face of height about `s`: the dark-eyes, light-cheeks pattern Haar cascades look for."""

    def box(dx: float, dy: float, ax: float, ay: float) -> tuple[int, int, int, int]:
        """The bounding box of an ellipse centred at (dx, dy) with half-axes (ax, ay), all in units of `s`."""
        x, y = cx + round(s * dx), cy + round(s * dy)
        rx, ry = max(1, round(s * ax)), max(1, round(s * ay))
        return x - rx, y - ry, x + rx, y + ry

    draw.ellipse(box(0, 0, 0.5, 0.65), fill=(220, 180, 150))
    draw.pieslice(box(0, -0.45, 0.52, 0.28), 180, 360, fill=(60, 50, 40))  # hair: the upper half of an ellipse
    for side in (-1, 1):
        draw.ellipse(box(side * 0.2, -0.22, 0.12, 0.03), fill=(70, 60, 50))
        draw.ellipse(box(side * 0.2, -0.12, 0.11, 0.05), fill=(250, 250, 250))
        draw.ellipse(box(side * 0.2, -0.12, 0.045, 0.045), fill=(20, 30, 40))
    draw.ellipse(box(0, 0.12, 0.06, 0.03), fill=(180, 140, 110))
    draw.ellipse(box(0, 0.32, 0.18, 0.06), fill=(160, 70, 70))


def draw_person(draw: ImageDraw.ImageDraw, width: int, height: int, progress: float) -> None:
    """A dark standing figure, `progress` (0..1) of the way across the frame from left to right."""
    h = height * 0.6
    x = round(-0.1 * width + progress * 1.2 * width)
    top = round(height * 0.95 - h)
    color = PERSON_COLOR
    head = round(h * 0.07)
    draw.ellipse((x - head, top, x + head, top + 2 * head), fill=color)
    body_w = round(h * 0.1)
    draw.rectangle((x - body_w, top + 2 * head, x + body_w, top + round(h * 0.55)), fill=color)
    stride = round(h * 0.08 * math.sin(progress * 40))
    thickness = max(2, round(h * 0.05))
    for sign in (-1, 1):
        hip = (x + sign * body_w // 2, top + round(h * 0.55))
        draw.line((hip, (x + sign * stride, top + round(h))), fill=color, width=thickness)
        shoulder = (x + sign * body_w, top + 2 * head + thickness)
        draw.line((shoulder, (x - sign * stride + sign * body_w, top + round(h * 0.5))), fill=color, width=thickness)


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

    def _grab(self, width: int, height: int) -> Image.Image:
        return self.scene.render(time.time(), width, height)
