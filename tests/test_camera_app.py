"""The camera's timelapse and trigger keep running through a twin resolution that cannot be captured."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from azure.iot.device import Message
from camera.app import CameraApp
from camera.backends.synthetic import SyntheticCamera
from camera.config import DEFAULTS, SETTINGS_SCHEMA
from camera.photos import CaptureParts, Identity
from camera.spool import Spool
from camera.uploader import Uploader

from edgekit import EdgeModule, Settings


async def _no_announcement(output: str, body: dict) -> None:
    raise AssertionError("nothing is uploaded without storage")


def camera_app(spool_dir: Path) -> CameraApp:
    module = EdgeModule("camera", settings=Settings(SETTINGS_SCHEMA, DEFAULTS))
    spool = Spool(spool_dir, 64 * 1024 * 1024)
    parts = CaptureParts(
        SyntheticCamera(), spool, Uploader(spool, None, _no_announcement), module.settings, Identity("d", "camera")
    )
    return CameraApp(module, parts)


def test_a_resolution_the_schema_passes_but_capture_refuses_does_not_end_the_timelapse(tmp_path: Path) -> None:
    app = camera_app(tmp_path)
    # "10x10" matches the settings pattern; the 16-pixel minimum is checked per capture.
    change = app.module.settings.apply({"resolution": "10x10", "timelapse_interval_s": 0.05})
    assert change.rejected == {}

    async def scenario() -> None:
        timelapse = asyncio.create_task(app.timelapse())
        await asyncio.sleep(0.3)
        assert not timelapse.done(), timelapse
        assert app.parts.spool.depth == 0
        app.module.settings.apply({"resolution": "64x48"})
        await asyncio.sleep(0.3)
        assert not timelapse.done(), timelapse
        timelapse.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await timelapse

    asyncio.run(scenario())
    assert app.parts.spool.depth >= 1
    assert all(entry.meta["width"] == 64 for entry in app.parts.spool.pending())


def test_a_trigger_with_an_uncapturable_resolution_is_refused_without_an_error(tmp_path: Path) -> None:
    app = camera_app(tmp_path)
    app.module.settings.apply({"resolution": "10x10"})
    asyncio.run(app.on_trigger(Message(b'{"label": "up"}')))  # raised before: a traceback per trigger
    assert app.parts.spool.depth == 0
