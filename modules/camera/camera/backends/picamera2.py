"""The Raspberry Pi camera through picamera2 (libcamera, current Raspberry Pi OS).

picamera2 exists only on Raspberry Pi OS (apt `python3-picamera2`), so it is
imported when this backend is chosen. The camera is configured once, with one
video configuration whose main stream serves stills (`capture_array`) and the
hardware H.264 encoder alike: switching modes per capture costs half a second
and leaks camera memory (picamera2 issue 1130). Stills are scaled to the
requested size in software; clips are recorded at the configured size.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from picamera2 import Picamera2
from picamera2.encoders import H264Encoder
from picamera2.outputs import FileOutput
from PIL import Image

from camera.backends.arrays import image_from_bgr
from camera.backends.base import Camera, ClipSettings, fit
from camera.encoder import remux_h264


class Picamera2Camera(Camera):
    name = "picamera2"

    def __init__(self, width: int = 1920, height: int = 1080, bitrate: int = 10_000_000) -> None:
        super().__init__()
        self.size = (width, height)
        self.bitrate = bitrate
        self._camera: Any = None

    def _open(self) -> None:
        camera = Picamera2()
        # RGB888 is laid out B, G, R in memory (what the hardware encoder takes too); `image_from_bgr` reorders.
        camera.configure(camera.create_video_configuration(main={"size": self.size, "format": "RGB888"}))
        camera.start()
        self._camera = camera

    def _close(self) -> None:
        if self._camera is not None:
            self._camera.stop()
            self._camera.close()
            self._camera = None

    def _grab(self, width: int, height: int) -> Image.Image:
        return fit(image_from_bgr(self._camera.capture_array("main")), width, height)

    def record(self, path: Path, clip: ClipSettings) -> Path:
        """Hardware H.264 of the main stream; stills can still be taken while it records."""
        with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
            stream = Path(scratch) / "clip.h264"
            encoder = H264Encoder(bitrate=self.bitrate)
            with self._lock:
                self._ensure_open()
                self._camera.start_encoder(encoder, FileOutput(str(stream)))
            try:
                time.sleep(clip.duration_s)
            finally:
                with self._lock:
                    self._camera.stop_encoder()
            return remux_h264(stream, path, clip.fps)
