"""Decoding, measuring and re-encoding images, shared by every analyser.

The cloud services refuse images that are too large in bytes or pixels, or in a
format they do not read; resizing and re-encoding here, before the call, turns a
billed-for 400 into a normal result. Quality (brightness, sharpness) is cheap and
computed on the device for every backend, so all results carry it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vision.errors import AnalysisError
from vision.result import Quality

_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\x00\x00\x01\x00", "ico"),
)
# Quality is measured on at most this width, so sharpness compares across resolutions.
_QUALITY_WIDTH = 640


def image_format(data: bytes) -> str | None:
    """The container format from the first bytes (what the services check), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def decode(data: bytes) -> np.ndarray:
    """A BGR image, or `AnalysisError('InvalidImageFormat')` for bytes that are not one."""
    if not data:
        raise AnalysisError("InvalidImageFormat", "the image is empty")
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as e:
        raise AnalysisError("InvalidImageFormat", f"cannot decode the image: {e.msg}") from e
    if image is None or image.size == 0:
        raise AnalysisError("InvalidImageFormat", f"cannot decode {len(data)} bytes as an image")
    return image


def shrink_to_width(image: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    """`image` at most `width` wide, and the factor to map its coordinates back."""
    h, w = image.shape[:2]
    if w <= width:
        return image, 1.0
    scale = width / w
    return cv2.resize(image, (width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA), 1.0 / scale


def measure_quality(gray: np.ndarray) -> Quality:
    """Brightness (mean, 0..1) and sharpness (variance of the Laplacian; below ~100 looks blurred)."""
    small, _ = shrink_to_width(gray, _QUALITY_WIDTH)
    brightness = float(small.mean()) / 255.0
    sharpness = float(cv2.Laplacian(small, cv2.CV_64F).var())
    return Quality(brightness=round(brightness, 4), sharpness=round(sharpness, 2))


@dataclass(frozen=True)
class UploadLimits:
    """What a cloud service accepts: bytes and pixel sides are exclusive bounds, as documented."""

    max_bytes: int
    min_side: int
    max_side: int
    formats: frozenset[str]


def _fit_scale(width: int, height: int, limits: UploadLimits) -> float:
    scale = 1.0
    if max(width, height) >= limits.max_side:
        scale = (limits.max_side - 1) / max(width, height)
    elif min(width, height) <= limits.min_side:
        scale = (limits.min_side + 1) / min(width, height)
    w, h = width * scale, height * scale
    if min(w, h) <= limits.min_side or max(w, h) >= limits.max_side:
        raise AnalysisError("InvalidImageSize", f"{width}x{height} cannot be scaled into the service's limits")
    return scale


def prepare_upload(data: bytes, image: np.ndarray, limits: UploadLimits, quality: int = 90) -> bytes:
    """The bytes to send: `data` itself when the service takes it, else a resized JPEG that fits."""
    height, width = image.shape[:2]
    scale = _fit_scale(width, height, limits)
    if scale == 1.0 and image_format(data) in limits.formats and len(data) < limits.max_bytes:
        return data
    if scale != 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    for _ in range(8):
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise AnalysisError("InvalidImageFormat", "cannot re-encode the image as JPEG")
        if encoded.nbytes < limits.max_bytes:
            return encoded.tobytes()
        h, w = image.shape[:2]
        if min(w, h) * 0.75 <= limits.min_side:
            break
        image = cv2.resize(image, (round(w * 0.75), round(h * 0.75)), interpolation=cv2.INTER_AREA)
    raise AnalysisError("InvalidImageSize", f"cannot fit the image under {limits.max_bytes} bytes")
