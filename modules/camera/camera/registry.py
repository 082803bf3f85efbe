"""Which class serves which `CAMERA_BACKEND`, and building the configured one.

Each entry names what brings its libraries, so a Pi backend chosen on a laptop
fails at start with a message that says what to install instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping

from camera.backends.base import Camera
from edgekit import BackendRegistry

DEFAULT_BACKEND = "synthetic"

cameras: BackendRegistry[Camera] = BackendRegistry("camera")
cameras.register("synthetic", "camera.backends.synthetic:SyntheticCamera", needs="pillow")
cameras.register("files", "camera.backends.files:FilesCamera", needs="pillow")
cameras.register("opencv", "camera.backends.opencv:OpenCVCamera", needs="opencv-python-headless")
cameras.register(
    "picamera2", "camera.backends.picamera2:Picamera2Camera", needs="apt python3-picamera2 (Raspberry Pi OS)"
)
cameras.register("picamera", "camera.backends.picamera:PicameraCamera", needs="picamera 1.13 (legacy camera stack)")


def create_camera(env: Mapping[str, str]) -> Camera:
    """The camera that `CAMERA_BACKEND` (with `CAMERA_SOURCE`, `CAMERA_SEED`) in `env` asks for."""
    name = env.get("CAMERA_BACKEND", "").strip() or DEFAULT_BACKEND
    if name == "synthetic":
        seed = env.get("CAMERA_SEED", "0").strip() or "0"
        if not seed.lstrip("-").isdigit():
            raise ValueError(f"CAMERA_SEED must be an integer, not {seed!r}")
        return cameras.create(name, seed=int(seed))
    if name in ("files", "opencv"):
        source = env.get("CAMERA_SOURCE", "").strip()
        if not source:
            raise ValueError(
                f"camera backend {name!r} needs CAMERA_SOURCE (a {'folder' if name == 'files' else 'device, URL or file'})"
            )
        return cameras.create(name, source=source)
    return cameras.create(name)
