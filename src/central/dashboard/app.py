"""Flask pages of the dashboard: overview, photos, messages, routes, twins."""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask, Response, abort, redirect, render_template, request, url_for

from central.dashboard import charts, guard, overlay
from central.dashboard.feed import SENSOR_FIELDS, UpstreamFeed
from central.dashboard.view import EdgeView

UNITS = {"temperature": "°C", "humidity": "%", "pressure": "hPa"}
TWIN_SETTLE_S = 3.0


def create_app(edge: EdgeView, camera: str = "camera") -> Flask:
    """The dashboard app; its routes are grouped by what they show, as Azurite groups handlers per resource."""
    app = Flask(__name__)
    app.jinja_env.globals.update(
        dims=(charts.WIDTH, charts.HEIGHT), pad=charts.PAD, overlay_canvas=overlay.canvas, overlay_shapes=overlay.shapes
    )
    app.jinja_env.filters["clock"] = clock
    feed = UpstreamFeed(edge.upstream)

    @app.before_request
    def _guard_and_refresh() -> None:
        reason = guard.refusal(request.method, request.host, request.scheme, request.headers.get("Origin"))
        if reason:
            abort(403, reason)
        feed.refresh()

    @app.errorhandler(LookupError)
    def _not_found(error: LookupError) -> tuple[str, int]:
        message = error.args[0] if error.args else str(error)  # str(KeyError) adds quotes
        return render_template("error.html", status=404, payload={"message": message}), 404

    _module_routes(app, edge, feed)
    _photo_routes(app, edge, feed, camera)
    _message_routes(app, edge, feed)
    _twin_routes(app, edge)
    return app


def _module_routes(app: Flask, edge: EdgeView, feed: UpstreamFeed) -> None:
    @app.get("/")
    def overview() -> str:
        series = [charts.Chart(name, UNITS[name], list(feed.series[name])) for name in SENSOR_FIELDS]
        return render_template(
            "overview.html",
            modules=edge.modules(),
            charts=series,
            polyline=charts.polyline,
            value_range=charts.value_range,
            alerts=list(reversed(feed.alerts)),
            photos=_photos(edge, feed, 4),
        )

    @app.post("/modules/<module>/<action>")
    def control(module: str, action: str) -> Any:
        try:
            edge.control(module, action)
        except ValueError as e:
            abort(400, str(e))
        return redirect(url_for("overview"))


def _photo_routes(app: Flask, edge: EdgeView, feed: UpstreamFeed, camera: str) -> None:
    @app.post("/take-photo")
    def take_photo() -> Any:
        status, payload = edge.invoke(camera, "take_photo", {}, 30)
        wants_json = request.accept_mimetypes.best == "application/json"
        if wants_json:
            return {"status": status, "payload": payload}, 200 if status == 200 else 502
        if status != 200:
            return render_template("error.html", status=status, payload=payload), 502
        return redirect(url_for("photo", blob=payload["blob"]))

    @app.get("/photos")
    def gallery() -> str:
        return render_template("photos.html", photos=_photos(edge, feed, 24))

    @app.get("/photos/<path:blob>")
    def photo(blob: str) -> str:
        analysis = feed.analyses.get(blob)
        if analysis is None and not edge.photo_exists(blob):
            abort(404)  # otherwise the page would refresh forever, waiting for an analysis that cannot come
        return render_template("photo.html", photo={"name": blob, "analysis": analysis})

    @app.get("/photo-bytes/<path:blob>")
    def photo_bytes(blob: str) -> Response:
        try:
            data = edge.photo_bytes(blob)
        except LookupError:
            abort(404)
        return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    @app.get("/api/photos/<path:blob>")
    def photo_state(blob: str) -> dict[str, Any]:
        return {"blob": blob, "analysis": feed.analyses.get(blob)}


def _message_routes(app: Flask, edge: EdgeView, feed: UpstreamFeed) -> None:
    @app.get("/messages")
    def messages() -> str:
        module, output = request.args.get("module", ""), request.args.get("output", "")
        entries = feed.messages(module, output)[:200]
        known = feed.sources()
        choices = {
            "module": sorted({m for m, _ in known} | {module} - {""}),
            "output": sorted({o for _, o in known} | {output} - {""}),
        }
        return render_template(
            "messages.html", entries=entries, module=module, output=output, known=known, choices=choices
        )

    @app.get("/routes")
    def routes() -> str:
        return render_template("routes.html", routes=edge.routes())


def _twin_routes(app: Flask, edge: EdgeView) -> None:
    @app.route("/twins/<module>", methods=["GET", "POST"])
    def twin(module: str) -> Any:
        error, text, rejected = None, None, None
        if request.method == "POST":
            text = request.form.get("desired", "")
            error, rejected = _patch(edge, module, text)
            if not error and not rejected:
                return redirect(url_for("twin", module=module, saved=1))
        current = edge.twin(module)
        desired = {k: v for k, v in current["properties"]["desired"].items() if not k.startswith("$")}
        return render_template(
            "twin.html",
            module=module,
            desired_text=text if text is not None else json.dumps(desired, indent=2),
            reported=json.dumps(current["properties"]["reported"], indent=2),
            error=error,
            rejected=rejected,
            saved=request.args.get("saved"),
            status=200 if not (error or rejected) else 400,
        ), (400 if (error or rejected) else 200)


def clock(epoch_s: float) -> str:
    """Local wall-clock time of a reading or message, as the user's own clock shows it."""
    return time.strftime("%H:%M:%S", time.localtime(epoch_s))


def _photos(edge: EdgeView, feed: UpstreamFeed, limit: int) -> list[dict[str, Any]]:
    return [dict(p, analysis=feed.analyses.get(p["name"])) for p in edge.photos(limit)]


def _patch(edge: EdgeView, module: str, text: str) -> tuple[str | None, dict[str, str] | None]:
    """Send a desired patch; return a JSON error, or the settings the module rejected for it."""
    try:
        patch = json.loads(text)
    except ValueError as e:
        return f"not valid JSON: {e}", None
    if not isinstance(patch, dict):
        return "the desired properties must be a JSON object", None
    before = edge.twin(module)["properties"]["reported"].get("$version", 0)
    try:
        edge.patch_desired(module, patch)
    except ValueError as e:
        return f"the hub refused the patch: {e}", None
    # The module answers a patch with a reported patch; wait briefly for it so errors show inline.
    deadline = time.monotonic() + TWIN_SETTLE_S
    while time.monotonic() < deadline:
        reported = edge.twin(module)["properties"]["reported"]
        if reported.get("$version", 0) != before:
            rejected = {k: v for k, v in (reported.get("rejected") or {}).items() if k in patch}
            return None, rejected or None
        time.sleep(0.1)
    return None, None
