"""Taking a video: record H.264 in MP4, spool it, upload it, announce it on `videos`.

A direct method must answer within its response timeout (30 s by default), so a
clip that cannot be recorded, encoded and uploaded in `SYNC_BUDGET_S` is answered
at once with 202 and a job id; the clip goes on recording and is announced on
output `videos` when stored, like every clip. Recording and spooling run
together in one worker thread, so a clip that has started is spooled even if
the request that asked for it is gone; from the spool it survives restarts.
One clip records at a time (409 otherwise); stills can be taken meanwhile.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

from camera.backends.base import ClipSettings
from camera.config import parse_resolution
from camera.encoder import probe_mp4
from camera.photos import CaptureParts, new_capture, result_of
from edgekit import MethodError

log = logging.getLogger(__name__)

SYNC_BUDGET_S = 20.0
ENCODE_MARGIN_S = 3.0  # encoder start, flush and upload of a short clip
DEFAULT_FPS = 15
KEPT_JOBS = 20


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Videos:
    def __init__(self, parts: CaptureParts) -> None:
        self.parts = parts
        self.jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._recording: asyncio.Task[bool] | None = None

    async def take(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        clip = self._clip(request)
        if self._recording is not None and not self._recording.done():
            raise MethodError(409, "a clip is already being recorded; try again when it is announced on videos")
        if not self.parts.spool.has_room():
            raise MethodError(
                507, f"spool full ({self.parts.spool.depth} captures waiting for upload); clip not recorded"
            )
        meta = new_capture(
            self.parts.identity, "video", self.parts.settings["videos_container"], ".mp4", request.get("label")
        )
        meta |= {
            "content_type": "video/mp4",
            "source": "method",
            "job_id": meta["id"],
            "correlation_id": meta["id"],
            "settings": {"resolution": f"{clip.width}x{clip.height}", "fps": clip.fps, "duration_s": clip.duration_s},
        }
        self._track(meta["id"], {"status": "recording", "blob": meta["blob"], "container": meta["container"]})
        task = self._recording = asyncio.create_task(self._record(meta, clip))
        accepted = {"job_id": meta["id"], "status": "recording", "blob": meta["blob"], "container": meta["container"]}
        if clip.duration_s + ENCODE_MARGIN_S > SYNC_BUDGET_S:
            return 202, accepted
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SYNC_BUDGET_S
        done, _ = await asyncio.wait({task}, timeout=SYNC_BUDGET_S)
        if not done or not task.result():
            return 202, accepted | {"status": self.jobs[meta["id"]]["status"]}
        wait_s = max(0.0, deadline - loop.time()) if self.parts.uploader.healthy else 0.0
        announcement = await self.parts.uploader.uploaded_announcement(meta["id"], wait_s)
        if announcement is None:
            return 202, accepted | {"status": self.jobs[meta["id"]]["status"]}
        return 200, result_of(meta, announcement) | {"job_id": meta["id"], "frames": meta["frames"]}

    def _clip(self, request: dict[str, Any]) -> ClipSettings:
        field = "resolution" if "resolution" in request else "settings.resolution"
        width, height = parse_resolution(request.get("resolution", self.parts.settings["resolution"]), field, even=True)
        return ClipSettings(width, height, request.get("fps", DEFAULT_FPS), request["duration_s"])

    async def _record(self, meta: dict[str, Any], clip: ClipSettings) -> bool:
        """Record and spool in one thread; True once the clip is safe in the spool."""
        self.parts.uploader.on_uploaded(
            meta["id"], lambda a: self._track(meta["id"], {"status": "uploaded", "url": a["url"]})
        )
        try:
            await asyncio.to_thread(self._record_and_spool, meta, clip)
        except Exception as e:
            log.exception("clip %s failed", meta["id"])
            self.parts.uploader.forget(meta["id"])
            self._track(meta["id"], {"status": "failed", "error": f"{type(e).__name__}: {e}"})
            return False
        self._track(meta["id"], {"status": "spooled"})
        self.parts.uploader.wake()
        return True

    def _record_and_spool(self, meta: dict[str, Any], clip: ClipSettings) -> None:
        path = self.parts.spool.scratch_dir / f"{meta['id']}.mp4"
        self.parts.camera.record(path, clip)
        width, height, frames = probe_mp4(path)
        meta |= {"sha256": _sha256_of(path), "bytes": path.stat().st_size, "width": width, "height": height}
        meta["frames"] = frames
        self.parts.spool.adopt(meta["id"], path, meta)
        log.info("clip %s recorded: %dx%d, %d frames", meta["id"], width, height, frames)

    def _track(self, job_id: str, update: dict[str, Any]) -> None:
        self.jobs.setdefault(job_id, {}).update(update)
        while len(self.jobs) > KEPT_JOBS:
            self.jobs.popitem(last=False)
