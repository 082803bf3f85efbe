"""The camera module's parts, assembled from the environment, and what they do together.

`CameraApp` owns one open camera, the spool, the uploader, and the photo and
video services that share them; it answers `get_status`, takes a photo for a
`trigger` message, runs the timelapse and applies twin settings that are not
read per capture (the spool limit, the timelapse interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from azure.iot.device import Message

from camera.config import LABEL
from camera.photos import CaptureParts, Identity, Photos
from camera.registry import create_camera
from camera.spool import Spool
from camera.uploader import Uploader, open_storage
from camera.video import Videos
from edgekit import EdgeModule, MethodError
from edgekit.validation import InvalidInput

log = logging.getLogger(__name__)

MB = 1024 * 1024


def spool_dir(env: Mapping[str, str]) -> Path:
    """`CAMERA_SPOOL_DIR`; unset, a folder in the home directory, or the temp dir when there is no writable home.

    On a device, set it to a bind-mounted host folder: only that survives the container being re-created.
    """
    configured = env.get("CAMERA_SPOOL_DIR", "").strip()
    if configured:
        return Path(configured)
    home = Path.home() / ".central-camera" / "spool"
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError:
        fallback = Path(tempfile.gettempdir()) / "central-camera" / "spool"
        log.warning("CAMERA_SPOOL_DIR is not set and %s is not writable; spooling in %s", home, fallback)
        return fallback
    return home


class CameraApp:
    def __init__(self, module: EdgeModule, parts: CaptureParts) -> None:
        self.module = module
        self.parts = parts
        self.backend = parts.camera.name
        self.photos = Photos(parts)
        self.videos = Videos(parts)
        self._timelapse_changed = asyncio.Event()

    @classmethod
    def from_env(cls, module: EdgeModule, env: Mapping[str, str]) -> CameraApp:
        camera = create_camera(env)
        spool = Spool(spool_dir(env), module.settings["spool_limit_mb"] * MB)
        connection = env.get("STORAGE_CONNECTION_STRING", "").strip()
        storage = open_storage(connection) if connection else None
        uploader = Uploader(spool, storage, lambda output, body: cls._announce(module, output, body))
        identity = Identity(env.get("IOTEDGE_DEVICEID", "local-device"), env.get("IOTEDGE_MODULEID", module.name))
        log.info(
            "camera backend %s, spool %s, storage %s", camera.name, spool.directory, "set" if storage else "not set"
        )
        return cls(module, CaptureParts(camera, spool, uploader, module.settings, identity))

    @staticmethod
    async def _announce(module: EdgeModule, output: str, body: dict[str, Any]) -> None:
        await module.send_json(output, body, {"kind": body["kind"], "container": body["container"]})

    def status(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "settings": self.module.settings.values,
            "last_capture": self.photos.last_capture,
            "spool": {
                "depth": self.parts.spool.depth,
                "bytes": self.parts.spool.used_bytes,
                "limit_bytes": self.parts.spool.limit_bytes,
                "rejected": self.parts.spool.rejected,
            },
            "uploads": {
                "pending": self.parts.spool.depth,
                "uploaded": self.parts.uploader.uploaded,
                "failed": self.parts.uploader.failed_attempts,
                "last_error": self.parts.uploader.last_error,
                "storage": "configured" if self.parts.uploader.storage is not None else "not configured",
            },
            "refused_spool_full": self.photos.refused,
            "video_jobs": dict(self.videos.jobs),
        }

    async def on_trigger(self, message: Message) -> None:
        """Any message on input `trigger` (the joystick, a rule) takes a photo with the twin's settings."""
        label = _label_of(message)
        try:
            status, result = await self.photos.take({"label": label} if label else {}, "trigger", message.message_id)
        except (MethodError, InvalidInput) as e:  # spool full, camera down, or a twin resolution out of range
            log.warning("trigger photo not taken: %s", e)
            return
        log.info("trigger photo %s (%d)", result["blob"], status)

    async def on_settings(self, values: dict[str, Any], changed: dict[str, Any]) -> None:
        self.parts.spool.limit_bytes = values["spool_limit_mb"] * MB
        if "timelapse_interval_s" in changed:
            self._timelapse_changed.set()

    async def timelapse(self) -> None:
        """A photo every `timelapse_interval_s` (0 = off); a new interval applies at once."""
        while True:
            interval = float(self.module.settings["timelapse_interval_s"])
            self._timelapse_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._timelapse_changed.wait(), interval if interval > 0 else None)
                continue  # the interval changed: start counting again
            try:
                await self.photos.take({}, "timelapse")
            except (MethodError, InvalidInput) as e:
                log.warning("timelapse photo not taken: %s", e)
            except Exception:  # e.g. a full disk under the spool: the next interval tries again, the module stays up
                log.exception("timelapse photo failed")

    def close(self) -> None:
        self.parts.camera.close()


def _label_of(message: Message) -> str | None:
    """A `label` string from a JSON trigger body, if it has a valid one (e.g. the joystick direction)."""
    try:
        body = json.loads(message.data)
    except (TypeError, ValueError):
        return None
    label = body.get("label") if isinstance(body, dict) else None
    return label if isinstance(label, str) and re.fullmatch(LABEL["pattern"], label) else None
