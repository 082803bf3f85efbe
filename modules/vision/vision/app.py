"""The vision module's wiring: the `photos` input, the `analyze` method, twin settings, reported state.

Handlers only validate and hand over; the work is in `VisionPipeline`, run in a
worker thread (OpenCV and both Azure SDKs block) one photo at a time, so local
motion detection sees photos in order and a burst of photos cannot start a
burst of billed cloud calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from typing import Any

from azure.iot.device import Message

from edgekit import EdgeModule, Settings
from vision.cache import ResultCache
from vision.pipeline import VisionPipeline, parse_photo
from vision.result import detections_body
from vision.settings import BACKENDS, SETTINGS_SCHEMA, VisionEnv, default_settings

log = logging.getLogger(__name__)

REPORT_INTERVAL_S = 5.0
ANALYZE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "blob": {"type": "string", "minLength": 1, "maxLength": 1024},
        "container": {"type": "string", "minLength": 3, "maxLength": 63},
        "url": {"type": "string", "pattern": "^https?://"},
        "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
        "backend": {"enum": list(BACKENDS)},
    },
}
# The status a direct-method caller gets for an analysis that failed, by error kind.
_STATUS_OF_KIND = {
    "input": 400,
    "image": 422,
    "rejected": 422,
    "auth": 502,
    "quota": 503,
    "unavailable": 503,
    "internal": 500,
}
_STATUS_OF_CODE = {"BlobNotFound": 404, "BlobAccessDenied": 403}


def method_status(analysis: dict[str, Any]) -> int:
    """200 for a result; for an error, the status a caller of `analyze` can act on."""
    if "error" not in analysis:
        return 200
    error = analysis["error"]
    return _STATUS_OF_CODE.get(error["code"], _STATUS_OF_KIND.get(error["kind"], 500))


def open_cache(env: VisionEnv, max_entries: int) -> ResultCache:
    try:
        return ResultCache(env.cache_dir, max_entries)
    except (OSError, sqlite3.Error) as e:
        raise SystemExit(f"vision: cannot open the result cache in {env.cache_dir} (VISION_CACHE_DIR): {e}") from e


def build_module(environ: dict[str, str] | None = None) -> EdgeModule:
    try:
        env = VisionEnv.from_environ(os.environ if environ is None else environ)
    except ValueError as e:
        raise SystemExit(f"vision: {e}") from e
    defaults = default_settings(env)
    module = EdgeModule("vision", Settings(SETTINGS_SCHEMA, defaults))
    pipeline = VisionPipeline(env, open_cache(env, defaults["cache_size"]))
    busy = asyncio.Lock()

    async def run(job: Any, *args: Any) -> dict[str, Any]:
        async with busy:
            return await asyncio.to_thread(job, *args)

    # The pipeline's state as last reported; edgekit sends it in the same patch as the settings.
    reported: dict[str, Any] = {}
    module.status(lambda: reported)

    @module.on_settings
    async def apply_settings(values: dict[str, Any], changed: dict[str, Any]) -> None:
        async with busy:
            await asyncio.to_thread(pipeline.configure, values)
            reported.update(await asyncio.to_thread(pipeline.reported))

    @module.input("photos")
    async def on_photo(message: Message) -> None:
        analysis = await run(pipeline.handle_message, message.data)
        properties = {"backend": analysis["backend"], "status": "error" if "error" in analysis else "ok"}
        await module.send_json("analysis", analysis, properties)
        detections = detections_body(analysis)
        if detections is not None:
            await module.send_json("detections", detections, {"backend": analysis["backend"]})

    @module.method("analyze", schema=ANALYZE_SCHEMA)
    async def analyze(payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        photo = parse_photo({k: v for k, v in payload.items() if k != "backend"})
        analysis = await run(pipeline.process, photo, payload.get("backend"))
        return method_status(analysis), analysis

    @module.task
    async def report_state() -> None:
        """Counts change with every photo; report them at most every few seconds, and only when changed.

        The state is read in a thread (it counts cache rows in SQLite, behind the lock a running analysis may
        hold), and a failed report is tried again next round instead of ending the module.
        """
        while not module.stopping.is_set():
            state = await asyncio.to_thread(pipeline.reported)
            if state != reported:
                try:
                    await module.report(state)
                    reported.update(state)
                except Exception:
                    log.exception("reporting the vision state failed; trying again in %.0f s", REPORT_INTERVAL_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(module.stopping.wait(), REPORT_INTERVAL_S)
        async with busy:  # after the photo in flight, if any
            await asyncio.to_thread(pipeline.close)

    return module
