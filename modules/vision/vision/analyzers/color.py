"""Dominant colours by k-means, named in the palette Azure Computer Vision uses.

Azure v3.2 reports colours as one of twelve names plus an accent as hex; naming
the local clusters the same way keeps `color` comparable whatever analysed the
photo. Clustering runs on a thumbnail: colour needs few pixels, and k-means on a
full frame would cost more than face detection.
"""

from __future__ import annotations

import cv2
import numpy as np

from vision.result import Colors

_THUMB_WIDTH = 64
_CLUSTERS = 4
_MIN_SHARE = 0.1  # a cluster smaller than this is not a dominant colour
_BW_SATURATION = 0.1
# OpenCV hue (0..180) upper bounds for the chromatic names.
_HUES = (
    (8, "Red"),
    (20, "Orange"),
    (33, "Yellow"),
    (78, "Green"),
    (95, "Teal"),
    (130, "Blue"),
    (150, "Purple"),
    (170, "Pink"),
    (181, "Red"),
)


def color_name(bgr: np.ndarray) -> str:
    """One of Black, Blue, Brown, Gray, Green, Orange, Pink, Purple, Red, Teal, White, Yellow."""
    pixel = np.clip(bgr, 0, 255).astype(np.uint8).reshape(1, 1, 3)
    hue, sat, val = (int(c) for c in cv2.cvtColor(pixel, cv2.COLOR_BGR2HSV)[0, 0])
    if sat < 50 or val < 40:
        return "Black" if val < 50 else "White" if val > 215 else "Gray"
    name = next(n for bound, n in _HUES if hue < bound)
    if name in ("Red", "Orange", "Yellow") and val < 150 and sat > 80:
        return "Brown"
    return name


def _most_common(labels: np.ndarray) -> int:
    return int(np.bincount(labels, minlength=_CLUSTERS).argmax())


def dominant_colors(image: np.ndarray) -> Colors:
    h, w = image.shape[:2]
    thumb = cv2.resize(image, (_THUMB_WIDTH, max(1, round(h * _THUMB_WIDTH / w))), interpolation=cv2.INTER_AREA)
    pixels = thumb.reshape(-1, 3).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    cv2.setRNGSeed(0)  # the same photo always gets the same colours
    clusters = min(_CLUSTERS, len(pixels))
    _, labels, centers = cv2.kmeans(pixels, clusters, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    grid = labels.reshape(thumb.shape[:2])
    th, tw = grid.shape
    center = grid[th // 4 : th - th // 4, tw // 4 : tw - tw // 4].ravel()
    border = np.concatenate(
        [
            grid[: max(1, th // 8)].ravel(),
            grid[-max(1, th // 8) :].ravel(),
            grid[:, : max(1, tw // 8)].ravel(),
            grid[:, -max(1, tw // 8) :].ravel(),
        ]
    )
    shares = np.bincount(labels, minlength=clusters) / len(labels)
    names = [color_name(c) for c in centers]
    order = [int(i) for i in np.argsort(-shares) if shares[i] >= _MIN_SHARE]
    hsv = cv2.cvtColor(centers.astype(np.uint8).reshape(1, -1, 3), cv2.COLOR_BGR2HSV)[0].astype(float)
    accent = max(range(clusters), key=lambda i: hsv[i, 1] * hsv[i, 2])
    b, g, r = (int(v) for v in np.clip(centers[accent], 0, 255))
    saturation = cv2.cvtColor(thumb, cv2.COLOR_BGR2HSV)[..., 1].mean() / 255.0
    return Colors(
        dominant_foreground=names[_most_common(center)],
        dominant_background=names[_most_common(border)],
        dominant_colors=tuple(dict.fromkeys(names[i] for i in order)),
        accent=f"{r:02X}{g:02X}{b:02X}",
        is_bw=bool(saturation < _BW_SATURATION),
    )
