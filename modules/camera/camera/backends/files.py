"""A camera that cycles through a folder of images.

For demos and tests with real photographs (faces, people) when no camera is
attached: each capture returns the next image in name order, turned upright as
its EXIF orientation says, scaled to the requested size, and wraps around at the end.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageOps

from camera.backends.base import Camera, CameraError, fit

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


class FilesCamera(Camera):
    name = "files"

    def __init__(self, source: str) -> None:
        super().__init__()
        self.folder = Path(source)
        self._images: list[Path] = []
        self._next = 0

    def _open(self) -> None:
        if not self.folder.is_dir():
            raise CameraError(f"files camera: {self.folder} is not a folder (set CAMERA_SOURCE)")
        self._images = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._images:
            raise CameraError(f"files camera: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {self.folder}")
        self._next = 0

    def _close(self) -> None:
        self._images = []

    def _grab(self, width: int, height: int) -> Image.Image:
        path = self._images[self._next % len(self._images)]
        self._next += 1
        try:
            with Image.open(path) as image:
                frame = ImageOps.exif_transpose(image).convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError) as e:
            raise CameraError(f"files camera: cannot read {path}: {e}") from e
        return fit(frame, width, height)
