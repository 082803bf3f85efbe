"""Flask pages of the dashboard: overview, photos, messages, routes, twins."""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Flask, Response, abort, redirect, render_template, request, url_for

from central.dashboard import charts
from central.dashboard.feed import SENSOR_FIELDS, UpstreamFeed
from central.dashboard.view import EdgeView

UNITS = {"temperature": "°C", "humidity": "%", "pressure": "hPa"}
TWIN_SETTLE_S = 3.0


def create_app(edge: EdgeView, camera: str = "camera") -> Flask:
    app = Flask(__name__)
    feed = UpstreamFeed(edge.upstream)

    @app.before_request
    def _refresh() -> None:
        feed.refresh()

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
            dims=(charts.WIDTH, charts.HEIGHT),
        )

    @app.post("/modules/<module>/<action>")
    def control(module: str, action: str) -> Any:
        try:
            edge.control(module, action)
        except ValueError as e:
            abort(400, str(e))
        return redirect(url_for("overview"))

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
        return render_template("photo.html", photo={"name": blob, "analysis": feed.analyses.get(blob)})

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

    @app.get("/messages")
    def messages() -> str:
        module, output = request.args.get("module", ""), request.args.get("output", "")
        entries = feed.messages(module, output)[:200]
        known = sorted({(e.module, e.output) for e in feed.log})
        return render_template("messages.html", entries=entries, module=module, output=output, known=known)

    @app.get("/routes")
    def routes() -> str:
        return render_template("routes.html", routes=edge.routes())

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

    return app


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
    edge.patch_desired(module, patch)
    # The module answers a patch with a reported patch; wait briefly for it so errors show inline.
    deadline = time.monotonic() + TWIN_SETTLE_S
    while time.monotonic() < deadline:
        reported = edge.twin(module)["properties"]["reported"]
        if reported.get("$version", 0) != before:
            rejected = {k: v for k, v in (reported.get("rejected") or {}).items() if k in patch}
            return None, rejected or None
        time.sleep(0.1)
    return None, None
