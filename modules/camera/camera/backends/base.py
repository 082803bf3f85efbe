"""The `Camera` interface every backend implements, and what they share.

A backend only has to open its device and hand back one RGB Pillow image of a
given size (`_grab`). Orientation, JPEG encoding and frame-paced H.264 recording
are done once here, so the synthetic scene, a folder of images, a webcam and the
Pi camera all produce the same stills. Frames are Pillow images, not numpy
arrays, so the default backends run without numpy and OpenCV (about 30 MB of
resident memory the module does not need); the backends whose device hands back
numpy arrays convert them in `camera.backends.arrays`. The device stays open
between captures (on the Pi every mode switch costs time and leaks camera
memory), and one lock serializes access to it: a still taken during a recording
waits for one frame, not for the clip.
"""

from __future__ import annotations

import io
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from camera.encoder import H264Writer
from camera.memory import give_back_free_memory

# Pillow turns counter-clockwise; `rotation` is clockwise, as on the Pi camera.
_ROTATIONS = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


class CameraError(RuntimeError):
    """The device failed to open or to deliver a frame."""


@dataclass(frozen=True)
class StillSettings:
    """How one still is taken; `width` x `height` is the size of the JPEG after rotation."""

    width: int
    height: int
    quality: int = 90
    rotation: int = 0
    hflip: bool = False
    vflip: bool = False

    @property
    def sensor_size(self) -> tuple[int, int]:
        """The frame size to grab so that after rotation the image is exactly `width` x `height`."""
        return (self.height, self.width) if self.rotation in (90, 270) else (self.width, self.height)


@dataclass(frozen=True)
class ClipSettings:
    width: int
    height: int
    fps: int
    duration_s: float


@dataclass(frozen=True)
class Still:
    jpeg: bytes
    width: int
    height: int


def fit(frame: Image.Image, width: int, height: int) -> Image.Image:
    """`frame` scaled to exactly `width` x `height` (backends whose device has one fixed size use this)."""
    if frame.size == (width, height):
        return frame
    shrinking = frame.width > width
    return frame.resize((width, height), Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR)


def orient(frame: Image.Image, settings: StillSettings) -> Image.Image:
    if settings.rotation:
        frame = frame.transpose(_ROTATIONS[settings.rotation])
    if settings.hflip and settings.vflip:
        return frame.transpose(Image.Transpose.ROTATE_180)
    if settings.hflip:
        return frame.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if settings.vflip:
        return frame.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return frame


class _JpegBuffer(io.BytesIO):
    """An in-memory file named like a JPEG, so Pillow picks the format from the name.

    Saving with format="JPEG" runs `PIL.Image.preinit()`, which imports the BMP, GIF, PPM and PNG
    plugins as well (about 2 MB resident the camera never uses); saving to a file whose name ends in
    .jpg makes Pillow (pinned 13.0.0) import only its JPEG plugin. The bytes are the same.
    tests/test_camera_jpeg_plugins.py fails if a Pillow upgrade changes that.
    """

    name = "still.jpg"


def encode_jpeg(frame: Image.Image, quality: int) -> bytes:
    buffer = _JpegBuffer()
    try:
        frame.save(buffer, quality=quality)
    except (OSError, ValueError) as e:
        raise CameraError(f"JPEG encoding failed: {e}") from e
    return buffer.getvalue()


class Camera(ABC):
    """One open camera. Thread-safe: every device access holds the camera's lock."""

    name = "camera"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open_now = False

    # -- what a backend implements -------------------------------------------
    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _grab(self, width: int, height: int) -> Image.Image:
        """One RGB image of exactly `width` x `height`; called with the lock held and the device open."""

    # -- the interface the module uses ----------------------------------------
    def open(self) -> None:
        with self._lock:
            self._ensure_open()

    def close(self) -> None:
        with self._lock:
            if self._open_now:
                self._open_now = False
                self._close()

    def frame(self, width: int, height: int) -> Image.Image:
        with self._lock:
            self._ensure_open()
            return self._grab(width, height)

    def capture_still(self, settings: StillSettings) -> Still:
        frame = orient(self.frame(*settings.sensor_size), settings)
        still = Still(encode_jpeg(frame, settings.quality), frame.width, frame.height)
        del frame
        give_back_free_memory()
        return still

    def record(self, path: Path, clip: ClipSettings) -> Path:
        """Record `clip` as H.264 in MP4 at `path`, pacing frames in real time; returns `path`."""
        frames = max(1, round(clip.duration_s * clip.fps))
        start = time.monotonic()
        with H264Writer(path, clip.width, clip.height, clip.fps) as writer:
            for index in range(frames):
                delay = start + index / clip.fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                writer.write(self.frame(clip.width, clip.height))
        return path

    def _ensure_open(self) -> None:
        if not self._open_now:
            self._open()
            self._open_now = True
