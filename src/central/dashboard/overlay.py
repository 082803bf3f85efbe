"""What to draw over a photo: the boxes of its vision analysis, in the photo's own pixels.

The `analysis` message (modules/vision/vision/result.py) carries faces as
`{"box": {x, y, w, h}}` and people as objects named `person`, next to the other
objects. Reading those field names here, once, keeps the template to drawing
rectangles, and gives people their own colour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PERSON = "person"


@dataclass(frozen=True)
class Shape:
    kind: str  # face, person or object: the CSS class of the rectangle
    x: int
    y: int
    w: int
    h: int
    label: str


def canvas(analysis: Mapping[str, Any] | None) -> tuple[int, int] | None:
    """The analysed photo's (width, height), None when unknown (no analysis yet, or it failed early)."""
    photo = (analysis or {}).get("photo") or {}
    width, height = photo.get("width"), photo.get("height")
    return (width, height) if isinstance(width, int) and isinstance(height, int) and width and height else None


def _box(kind: str, box: Mapping[str, Any], label: str) -> Shape:
    return Shape(kind, int(box["x"]), int(box["y"]), int(box["w"]), int(box["h"]), label)


def shapes(analysis: Mapping[str, Any] | None) -> list[Shape]:
    """Faces, then people, then other objects (so people and faces are drawn under object labels)."""
    if not analysis or "error" in analysis:
        return []
    faces = [_box("face", f["box"], "face") for f in analysis.get("faces") or []]
    found = [
        _box(PERSON if o["name"] == PERSON else "object", o["box"], f"{o['name']} {o['confidence']:.0%}")
        for o in analysis.get("objects") or []
    ]
    return faces + sorted(found, key=lambda s: s.kind != PERSON)
