"""The camera's twin settings and the validation shared by settings and method payloads.

Desired properties set the defaults every capture starts from; a method payload
may override resolution, quality, rotation and flips for one capture. Names and
ranges live here once so the twin, the direct methods and the HTTP API agree.
"""

from __future__ import annotations

import re
from typing import Any

from camera.backends.base import StillSettings
from edgekit.validation import InvalidInput

MIN_SIDE, MAX_SIDE = 16, 4096
RESOLUTION = {"type": "string", "pattern": r"^[0-9]{2,4}x[0-9]{2,4}$"}
QUALITY = {"type": "integer", "minimum": 1, "maximum": 100}
ROTATION = {"enum": [0, 90, 180, 270]}
FLIP = {"type": "boolean"}
# Azure container names: 3-63 lowercase letters, digits and single hyphens, starting and ending alphanumeric.
CONTAINER = {"type": "string", "pattern": r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"}
LABEL = {"type": "string", "pattern": r"^[A-Za-z0-9 _.:-]{0,64}$"}

# What one still is taken with: the twin's defaults, overridable per capture by a method payload.
STILL_PROPERTIES: dict[str, Any] = {
    "resolution": RESOLUTION,
    "quality": QUALITY,
    "rotation": ROTATION,
    "hflip": FLIP,
    "vflip": FLIP,
}

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        **STILL_PROPERTIES,
        "timelapse_interval_s": {"type": "number", "minimum": 0, "maximum": 86400},
        "photos_container": CONTAINER,
        "videos_container": CONTAINER,
        "spool_limit_mb": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
    },
}

DEFAULTS: dict[str, Any] = {
    "resolution": "1280x720",
    "quality": 85,
    "rotation": 0,
    "hflip": False,
    "vflip": False,
    "timelapse_interval_s": 0,
    "photos_container": "photos",
    "videos_container": "videos",
    "spool_limit_mb": 512,
}

STILL_FIELDS = tuple(STILL_PROPERTIES)
_RESOLUTION = re.compile(r"^([0-9]+)x([0-9]+)$")


def parse_resolution(text: str, field: str = "resolution", even: bool = False) -> tuple[int, int]:
    """'WxH' as (W, H), each side within 16-4096 (and even for H.264 video)."""
    match = _RESOLUTION.match(text)
    if match is None:
        raise InvalidInput(field, f"{text!r} is not WIDTHxHEIGHT")
    width, height = int(match[1]), int(match[2])
    for side in (width, height):
        if not MIN_SIDE <= side <= MAX_SIDE:
            raise InvalidInput(field, f"{side} is outside {MIN_SIDE}-{MAX_SIDE}")
        if even and side % 2:
            raise InvalidInput(field, f"{side} is odd; H.264 needs even sides")
    return width, height


def still_settings(defaults: dict[str, Any], overrides: dict[str, Any]) -> StillSettings:
    """The settings for one still: the twin's values, with what the request names taking precedence."""
    merged = {name: overrides.get(name, defaults[name]) for name in STILL_FIELDS}
    field = "resolution" if "resolution" in overrides else "settings.resolution"
    width, height = parse_resolution(merged["resolution"], field)
    return StillSettings(
        width=width,
        height=height,
        quality=merged["quality"],
        rotation=merged["rotation"],
        hflip=merged["hflip"],
        vflip=merged["vflip"],
    )
