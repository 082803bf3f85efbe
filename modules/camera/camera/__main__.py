"""`python -m camera`: the camera module as edgeAgent and `central up` start it."""

from __future__ import annotations

import os

from camera.app import CameraApp
from camera.config import DEFAULTS, SETTINGS_SCHEMA, parse_resolution
from camera.memory import return_large_blocks_at_once
from camera.methods import register_methods
from edgekit import EdgeModule, MissingBackendError, Settings


def main() -> None:
    return_large_blocks_at_once()
    module = EdgeModule("camera", settings=Settings(SETTINGS_SCHEMA, DEFAULTS, checks={"resolution": parse_resolution}))
    try:
        app = CameraApp.from_env(module, os.environ)
    except (MissingBackendError, ValueError) as e:  # a configuration mistake: say what, without a traceback
        raise SystemExit(f"camera: {e}") from e
    register_methods(module.methods, app)
    module.input("trigger")(app.on_trigger)
    module.on_settings(app.on_settings)
    module.task(app.parts.uploader.run)
    module.task(app.timelapse)
    if os.environ.get("CAMERA_HTTP_PORT", "").strip():
        from camera.http_api import HttpApi  # Flask is loaded only when the HTTP API is asked for

        try:
            module.task(HttpApi(app, module.methods, os.environ).serve)
        except ValueError as e:
            raise SystemExit(f"camera: {e}") from e
    try:
        module.run()
    finally:
        app.close()


if __name__ == "__main__":
    main()
