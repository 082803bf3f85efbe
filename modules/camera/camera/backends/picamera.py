"""The Raspberry Pi camera through the legacy `picamera` library (the original design's stack).

picamera 1.13 works only on the legacy camera stack (32-bit Raspberry Pi OS
Buster era) and refuses to install elsewhere, so it is imported only when this
backend is chosen. Stills come from the video port (no mode switch, about a
frame's time) into a numpy buffer, whose size picamera rounds up to 32 x 16.
Clips are recorded by the GPU's H.264 encoder on splitter port 1 and wrapped in MP4.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import picamera
from PIL import Image

from camera.backends.arrays import image_from_bgr
from camera.backends.base import Camera, ClipSettings
from camera.encoder import remux_h264


def _round_up(value: int, step: int) -> int:
    return (value + step - 1) // step * step


class PicameraCamera(Camera):
    name = "picamera"

    def __init__(self, width: int = 1920, height: int = 1080, framerate: int = 30) -> None:
        super().__init__()
        self.size = (width, height)
        self.framerate = framerate
        self._camera: Any = None

    def _open(self) -> None:
        self._camera = picamera.PiCamera(resolution=self.size, framerate=self.framerate)

    def _close(self) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None

    def _grab(self, width: int, height: int) -> Image.Image:
        buffer = np.empty((_round_up(height, 16), _round_up(width, 32), 3), dtype=np.uint8)
        self._camera.capture(buffer, format="bgr", use_video_port=True, resize=(width, height))
        return image_from_bgr(buffer[:height, :width])

    def record(self, path: Path, clip: ClipSettings) -> Path:
        with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
            stream = Path(scratch) / "clip.h264"
            with self._lock:
                self._ensure_open()
                self._camera.start_recording(str(stream), format="h264", resize=(clip.width, clip.height))
            try:
                self._camera.wait_recording(clip.duration_s)
            finally:
                with self._lock:
                    self._camera.stop_recording()
            return remux_h264(stream, path, self.framerate)
