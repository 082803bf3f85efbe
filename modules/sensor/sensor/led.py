"""What the 8x8 LED matrix shows: status colours and scrolling messages.

Text is rendered here, frame by frame, rather than with the library's
`show_message`, which blocks for the whole scroll and cannot be interrupted: a
200-character message at 0.1 s a column takes two minutes. Rendered frames can
be stopped the moment a status or a newer message arrives, and every backend
(including the simulated one) shows exactly the same pixels.

The font is the Sense HAT's own 8-pixel font, shipped as an image with both the
`sense-hat` and `sense-emu` packages.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from sensor.boards.base import RGB, Frame, SenseBoard

log = logging.getLogger(__name__)

STATUS_COLOURS: dict[str, RGB] = {"ok": (0, 150, 0), "warn": (255, 140, 0), "alert": (255, 0, 0)}
BLACK: RGB = (0, 0, 0)
Glyph = list[list[bool]]  # columns, left to right; each column 8 rows, top to bottom
_SPACE: Glyph = [[False] * 8] * 3


def _font_files() -> tuple[Path, Path]:
    for package in ("sense_hat", "sense_emu"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin is not None:
            folder = Path(spec.origin).parent
            if (folder / "sense_hat_text.png").is_file():
                return folder / "sense_hat_text.png", folder / "sense_hat_text.txt"
    raise RuntimeError("the Sense HAT font comes with the sense-hat or sense-emu package; install one")


@cache
def font() -> dict[str, Glyph]:
    """Character -> glyph. The image stacks 5-column glyphs vertically, each column stored as a row, bottom first."""
    from PIL import Image

    image_path, chars_path = _font_files()
    chars = chars_path.read_text(encoding="utf-8").rstrip("\n")
    with Image.open(image_path) as image:
        grey = image.convert("L")
        glyphs: dict[str, Glyph] = {}
        for index, char in enumerate(chars):
            columns = [[grey.getpixel((7 - y, index * 5 + c)) > 127 for y in range(8)] for c in range(5)]  # type: ignore[operator]
            lit = [col for col in columns if any(col)]
            glyphs[char] = lit or _SPACE
    glyphs[" "] = _SPACE
    return glyphs


def text_columns(text: str) -> list[list[bool]]:
    """The message as one long strip of 8-pixel columns, one blank column between letters."""
    glyphs = font()
    strip: list[list[bool]] = []
    for char in text:
        strip.extend(glyphs.get(char, glyphs["?"]))
        strip.append([False] * 8)
    return strip


def scroll_frames(text: str, colour: RGB, background: RGB = BLACK) -> Iterator[Frame]:
    """Frames that scroll `text` in from the right until it has left on the left."""
    blank = [[False] * 8] * 8
    strip = blank + text_columns(text) + blank
    for start in range(len(strip) - 7):
        window = strip[start : start + 8]
        yield [colour if window[x][y] else background for y in range(8) for x in range(8)]


def status_frame(level: str) -> Frame:
    """The whole matrix in the level's colour, readable from across a room."""
    return [STATUS_COLOURS[level]] * 64


def dimmed(frame: Frame, brightness: float) -> Frame:
    return [(round(r * brightness), round(g * brightness), round(b * brightness)) for r, g, b in frame]


def level_from_detections(body: Any) -> str:
    """The status for a message on input `status`.

    An explicit `{"level": ...}` wins. Otherwise it is a vision `detections`
    message (`people_count`, `faces_count`, `people`, `faces`): someone seen is
    `warn`, no one seen is `ok`.
    """
    if not isinstance(body, dict):
        raise ValueError("body: expected a JSON object")
    level = body.get("level")
    if level is not None:
        if level not in STATUS_COLOURS:
            raise ValueError(f"level: must be one of {', '.join(STATUS_COLOURS)}")
        return str(level)
    counts = [body.get(key) for key in ("people_count", "faces_count")]
    lists = [body.get(key) for key in ("people", "faces", "detections", "objects")]
    seen = any(isinstance(n, int | float) and n > 0 for n in counts) or any(isinstance(x, list) and x for x in lists)
    return "warn" if seen else "ok"


class LedDisplay:
    """Owns the matrix: one animation at a time, and the last status comes back after a message."""

    def __init__(self, board: SenseBoard, brightness: float = 1.0) -> None:
        self.board = board
        self.brightness = brightness
        self.status: str | None = None
        self._animation: asyncio.Task[None] | None = None

    async def _draw(self, frame: Frame) -> None:
        await asyncio.to_thread(self.board.set_pixels, dimmed(frame, self.brightness))

    async def _stop_animation(self) -> None:
        if self._animation is not None and not self._animation.done():
            self._animation.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._animation
        self._animation = None

    async def show_status(self, level: str) -> None:
        await self._stop_animation()
        self.status = level
        await self._draw(status_frame(level))

    async def clear(self) -> None:
        await self._stop_animation()
        self.status = None
        await self._draw([BLACK] * 64)

    async def show_message(self, text: str, colour: RGB, speed_s: float) -> int:
        """Start scrolling `text` (returns at once); the number of frames it will take."""
        await self._stop_animation()
        frames = list(scroll_frames(text, colour))
        self._animation = asyncio.create_task(self._play(frames, speed_s))
        return len(frames)

    async def _play(self, frames: list[Frame], speed_s: float) -> None:
        """Runs as a task nobody awaits once it has finished, so a drawing error is logged here; otherwise it
        shows only as asyncio's "exception was never retrieved", whenever the task happens to be collected."""
        try:
            for frame in frames:
                await self._draw(frame)
                await asyncio.sleep(speed_s)
            await self._draw(status_frame(self.status) if self.status else [BLACK] * 64)
        except Exception:
            log.exception("scrolling message stopped: the LED matrix failed")

    async def close(self) -> None:
        await self._stop_animation()
