"""Taking a photo: capture, spool, wait briefly for the upload, describe the result.

Direct methods, the `trigger` input, the timelapse and the HTTP API all come
through `Photos.take`, so every photo is spooled and uploaded the same way.
A caller gets 200 with the read URL when the upload finishes within a few
seconds, and 202 with the blob name when storage is down (the photo waits in
the spool and is announced on `photos` when it is stored). The spool being full
is 507 and nothing is captured (see spool.py for why nothing is dropped).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from camera.backends.base import Camera, CameraError, StillSettings
from camera.config import still_settings
from camera.spool import Spool, SpoolFull
from camera.uploader import Uploader
from edgekit import MethodError, Settings

log = logging.getLogger(__name__)

UPLOAD_WAIT_S = 10.0


@dataclass(frozen=True)
class Identity:
    device: str
    module: str


@dataclass(frozen=True)
class CaptureParts:
    """What photos and videos share: the open camera, the spool, the uploader, the twin's settings and whose captures."""

    camera: Camera
    spool: Spool
    uploader: Uploader
    settings: Settings
    identity: Identity


def blob_name(device: str, captured_at: datetime, capture_id: str, suffix: str) -> str:
    """`{device}/{yyyy}/{mm}/{dd}/{timestamp}-{id}{suffix}`: one folder per day, names sort in capture order."""
    stamp = captured_at.strftime("%Y%m%dT%H%M%S%fZ")
    return f"{device}/{captured_at:%Y/%m/%d}/{stamp}-{capture_id}{suffix}"


def new_capture(identity: Identity, kind: str, container: str, suffix: str, label: str | None) -> dict[str, Any]:
    """The metadata every capture starts with; the sidecar, blob metadata and announcement all derive from it."""
    captured_at = datetime.now(UTC)
    capture_id = uuid.uuid4().hex
    return {
        "id": capture_id,
        "kind": kind,
        "output": f"{kind}s",
        "container": container,
        "blob": blob_name(identity.device, captured_at, capture_id, suffix),
        "captured_at": captured_at.isoformat().replace("+00:00", "Z"),
        "device": identity.device,
        "module": identity.module,
        "label": label or None,
    }


def still_description(settings: StillSettings) -> dict[str, Any]:
    return {
        "resolution": f"{settings.width}x{settings.height}",
        "quality": settings.quality,
        "rotation": settings.rotation,
        "hflip": settings.hflip,
        "vflip": settings.vflip,
    }


def result_of(meta: dict[str, Any], announcement: dict[str, Any] | None) -> dict[str, Any]:
    """What a caller is told about a capture; `announcement` is None while it waits for upload."""
    names = ("blob", "container", "sha256", "bytes", "width", "height", "captured_at", "correlation_id", "label")
    url = announcement["url"] if announcement else None
    return {name: meta.get(name) for name in names} | {"url": url, "uploaded": announcement is not None}


class Photos:
    def __init__(self, parts: CaptureParts) -> None:
        self.parts = parts
        self.last_capture: dict[str, Any] | None = None
        self.latest_jpeg: bytes | None = None
        self.refused = 0

    async def take(
        self, request: dict[str, Any], source: str, correlation_id: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Take one photo; (200, result) once uploaded, (202, result) while it waits in the spool."""
        still = still_settings(self.parts.settings.values, request)
        if not self.parts.spool.has_room():
            self.refused += 1
            raise MethodError(
                507, f"spool full ({self.parts.spool.depth} captures waiting for upload); photo not taken"
            )
        meta = new_capture(
            self.parts.identity, "photo", self.parts.settings["photos_container"], ".jpg", request.get("label")
        )
        try:
            captured = await asyncio.to_thread(self.parts.camera.capture_still, still)
        except CameraError as e:
            await asyncio.to_thread(self.parts.camera.close)  # reopen on the next capture
            raise MethodError(503, f"camera unavailable: {e}") from e
        meta |= {
            "content_type": "image/jpeg",
            "sha256": hashlib.sha256(captured.jpeg).hexdigest(),
            "bytes": len(captured.jpeg),
            "width": captured.width,
            "height": captured.height,
            "correlation_id": correlation_id or meta["id"],
            "settings": still_description(still),
            "source": source,
        }
        try:
            entry = await asyncio.to_thread(self.parts.spool.add, meta["id"], captured.jpeg, ".jpg", meta)
        except SpoolFull as e:
            self.refused += 1
            raise MethodError(507, f"{e}; photo not taken") from e
        self.latest_jpeg = captured.jpeg
        self.last_capture = {name: meta[name] for name in ("blob", "container", "captured_at", "source", "sha256")}
        self.parts.uploader.wake()
        wait_s = UPLOAD_WAIT_S if self.parts.uploader.healthy else 0.0
        announcement = await self.parts.uploader.uploaded_announcement(entry.id, wait_s)
        return (202 if announcement is None else 200), result_of(meta, announcement)
