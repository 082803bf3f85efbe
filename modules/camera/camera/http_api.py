"""The optional HTTP API of the original design: `GET /take_photo`, `/take_video?duration=`.

Off unless `CAMERA_HTTP_PORT` is set. Every route except `/healthz` needs
`Authorization: Bearer <CAMERA_HTTP_TOKEN>` (compared in constant time), and the
server binds 127.0.0.1 unless `CAMERA_HTTP_BIND` names another address: a camera
must not take orders from the network by default. Requests are handed to the
module's own event loop through the direct-method registry, so validation and
status codes are the same as for direct methods.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import threading
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import BaseWSGIServer, make_server

from camera.app import CameraApp
from edgekit import MethodRegistry

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 60.0
# Query parameters arrive as text; each known one is converted to the type its schema expects.
_QUERY_TYPES: dict[str, type] = {"quality": int, "rotation": int, "fps": int, "duration_s": float}
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


class HttpConfigError(ValueError):
    """The HTTP API was asked for but cannot start safely."""


def _payload(args: Mapping[str, str], renames: Mapping[str, str]) -> dict[str, Any] | tuple[str, str]:
    """Query parameters as a method payload, or (field, problem) for one that is not of its type."""
    payload: dict[str, Any] = {}
    for raw_name, text in args.items():
        name = renames.get(raw_name, raw_name)
        if name in ("hflip", "vflip"):
            if text.lower() not in _BOOLEANS:
                return name, "must be true or false"
            payload[name] = _BOOLEANS[text.lower()]
        elif name in _QUERY_TYPES:
            try:
                payload[name] = _QUERY_TYPES[name](text)
            except ValueError:
                return name, f"{text!r} is not a number"
        else:
            payload[name] = text
    return payload


def create_app(app: CameraApp, methods: MethodRegistry, loop: asyncio.AbstractEventLoop, token: str) -> Flask:
    web = Flask("camera")
    expected = hashlib.sha256(f"Bearer {token}".encode()).digest()

    @web.before_request
    def require_token() -> Response | None:
        if request.path == "/healthz":
            return None
        # Digests of equal length, so the comparison takes the same time whatever was sent.
        given = hashlib.sha256(request.headers.get("Authorization", "").encode()).digest()
        if hmac.compare_digest(given, expected):
            return None
        denied = jsonify(error="missing or wrong bearer token")
        denied.status_code = 401
        denied.headers["WWW-Authenticate"] = 'Bearer realm="camera"'
        return denied

    def call(method: str, renames: Mapping[str, str]) -> tuple[Response, int]:
        payload = _payload(request.args, renames)
        if isinstance(payload, tuple):
            return jsonify(error=payload[1], field=payload[0]), 400
        future = asyncio.run_coroutine_threadsafe(methods.dispatch(method, payload), loop)
        try:
            status, body = future.result(REQUEST_TIMEOUT_S)
        except TimeoutError:
            future.cancel()  # nobody waits for the answer any more
            return jsonify(error=f"{method} did not answer within {REQUEST_TIMEOUT_S:.0f} s"), 504
        return jsonify(body), status

    @web.get("/take_photo")
    def take_photo() -> tuple[Response, int]:
        return call("take_photo", {})

    @web.get("/take_video")
    def take_video() -> tuple[Response, int]:
        return call("take_video", {"duration": "duration_s"})

    @web.get("/latest.jpg")
    def latest() -> Response | tuple[Response, int]:
        jpeg = app.photos.latest_jpeg
        if jpeg is None:
            return jsonify(error="no photo taken yet"), 404
        return Response(jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})

    @web.get("/healthz")
    def healthz() -> Response:
        return jsonify(ok=True, backend=app.backend)

    return web


class HttpApi:
    """The Flask app served by werkzeug in one thread for as long as the module runs."""

    def __init__(self, app: CameraApp, methods: MethodRegistry, env: Mapping[str, str]) -> None:
        self.app = app
        self.methods = methods
        port = env["CAMERA_HTTP_PORT"].strip()
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise HttpConfigError(f"CAMERA_HTTP_PORT must be a port number, not {port!r}")
        self.port = int(port)
        self.bind = env.get("CAMERA_HTTP_BIND", "").strip() or "127.0.0.1"
        self.token = env.get("CAMERA_HTTP_TOKEN", "")
        if len(self.token) < 16:
            raise HttpConfigError(
                "CAMERA_HTTP_PORT is set but CAMERA_HTTP_TOKEN is missing or shorter than 16 characters"
            )

    async def serve(self) -> None:
        """Serve until cancelled (module stop), then shut the server down."""
        web = create_app(self.app, self.methods, asyncio.get_running_loop(), self.token)
        server: BaseWSGIServer = make_server(self.bind, self.port, web, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="camera-http", daemon=True)
        thread.start()
        log.info("HTTP API on http://%s:%d (bearer token required)", self.bind, self.port)
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.to_thread(server.shutdown)
            server.server_close()
            thread.join()
