"""The camera's direct methods: payload schemas and the handlers behind them.

Schemas reject unknown fields and out-of-range values before a handler runs
(400 naming the field, from edgekit's registry); handlers only call the photo
and video services. The HTTP API dispatches through the same registry, so both
doors validate and answer alike.
"""

from __future__ import annotations

from typing import Any

from camera.app import CameraApp
from camera.config import LABEL, RESOLUTION, STILL_PROPERTIES
from edgekit import MethodRegistry

TAKE_PHOTO: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {**STILL_PROPERTIES, "label": LABEL},
}

TAKE_VIDEO: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["duration_s"],
    "properties": {
        "duration_s": {"type": "number", "minimum": 1, "maximum": 300},
        "resolution": RESOLUTION,
        "fps": {"type": "integer", "minimum": 1, "maximum": 60},
        "label": LABEL,
    },
}

GET_STATUS: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}


def register_methods(methods: MethodRegistry, app: CameraApp) -> None:
    @methods.method("take_photo", schema=TAKE_PHOTO)
    async def take_photo(payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return await app.photos.take(payload, "method")

    @methods.method("take_video", schema=TAKE_VIDEO)
    async def take_video(payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return await app.videos.take(payload)

    @methods.method("get_status", schema=GET_STATUS)
    def get_status(payload: dict[str, Any]) -> dict[str, Any]:
        return app.status()
