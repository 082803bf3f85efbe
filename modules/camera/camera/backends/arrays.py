"""numpy frames from devices, as the Pillow images the rest of the module works with.

OpenCV and both Pi camera libraries hand back numpy arrays in B, G, R order;
only the backends that use them import this module, so numpy is loaded only
where a device library brings it anyway.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def image_from_bgr(frame: np.ndarray) -> Image.Image:
    """An RGB image of a height x width x 3 (or x 4, the 4th channel ignored) uint8 B, G, R array."""
    pixels = np.ascontiguousarray(frame[:, :, :3])
    height, width = pixels.shape[:2]
    return Image.frombuffer("RGB", (width, height), pixels, "raw", "BGR", 0, 1)
