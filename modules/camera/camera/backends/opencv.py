"""A camera read through OpenCV: a USB webcam, an RTSP stream or a video file.

`CAMERA_SOURCE` is a device number (`0` for /dev/video0), a device path, an
`rtsp://` or `http://` URL, or a file path. The capture stays open; a video file
starts again from the beginning when it ends, so it can stand in for a camera.
"""

from __future__ import annotations

import cv2
from PIL import Image

from camera.backends.arrays import image_from_bgr
from camera.backends.base import Camera, CameraError, fit


def _source(source: str) -> int | str:
    return int(source) if source.isdigit() else source


class OpenCVCamera(Camera):
    name = "opencv"

    def __init__(self, source: str = "0") -> None:
        super().__init__()
        self.source = source
        self._capture: cv2.VideoCapture | None = None

    def _open(self) -> None:
        capture = cv2.VideoCapture(_source(self.source))
        if not capture.isOpened():
            capture.release()
            raise CameraError(f"opencv camera: cannot open {self.source!r} (check CAMERA_SOURCE)")
        self._capture = capture

    def _close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    def _grab(self, width: int, height: int) -> Image.Image:
        assert self._capture is not None
        ok, frame = self._capture.read()
        if not ok:  # a file at its end starts over; a live device that fails twice is an error
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
        if not ok or frame is None:
            raise CameraError(f"opencv camera: no frame from {self.source!r}")
        return fit(image_from_bgr(frame), width, height)
