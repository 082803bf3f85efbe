"""The camera module end to end: `python -m camera` against the local hub and Azurite."""

from __future__ import annotations

import hashlib
import json
import queue
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import requests
from azure.iot.device import Message
from azure.storage.blob import BlobServiceClient

from tests.fixtures.camera_module import CameraEdge
from tests.fixtures.module_process import wait_for
from tests.fixtures.network import free_port

pytestmark = pytest.mark.slow


def blob_bytes(edge: CameraEdge, container: str, blob: str) -> tuple[bytes, dict[str, str]]:
    client = BlobServiceClient.from_connection_string(edge.azurite.connection_string).get_blob_client(container, blob)
    return client.download_blob().readall(), client.get_blob_properties().metadata


def test_photo_lands_in_storage_and_is_announced_to_a_subscriber(camera_edge: CameraEdge) -> None:
    probe = camera_edge.hub.module_client("probe")
    received: queue.Queue[Any] = queue.Queue()
    probe.on_message_received = received.put
    camera_edge.start_camera()

    status, result = camera_edge.call("take_photo", {"resolution": "800x600", "quality": 70, "label": "front door"})

    assert status == 200, result
    data, metadata = blob_bytes(camera_edge, "photos", result["blob"])
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (600, 800, 3) and (result["width"], result["height"]) == (800, 600)
    assert hashlib.sha256(data).hexdigest() == result["sha256"] == metadata["sha256"]
    assert metadata["device"] == "edge-local" and metadata["module"] == "camera" and metadata["quality"] == "70"
    assert result["blob"].startswith(f"edge-local/{result['captured_at'][:10].replace('-', '/')}/")
    assert requests.get(result["url"], timeout=10).content == data  # the SAS URL reads the blob

    message = received.get(timeout=20)
    assert message.input_name == "photos"
    assert message.content_type == "application/json" and message.content_encoding == "utf-8"
    body = json.loads(message.data)
    assert body["blob"] == result["blob"] and body["sha256"] == result["sha256"] and body["url"]
    assert len(message.data) < 4096  # a reference, never the image


def test_video_lands_as_an_mp4_that_opencv_plays(camera_edge: CameraEdge, tmp_path: Path) -> None:
    camera_edge.start_camera()

    status, result = camera_edge.call("take_video", {"duration_s": 2, "fps": 10, "resolution": "320x240"}, timeout_s=30)

    assert status == 200, result
    data, metadata = blob_bytes(camera_edge, "videos", result["blob"])
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(data)
    video = cv2.VideoCapture(str(clip))
    frames = 0
    while video.read()[0]:
        frames += 1
    video.release()
    assert frames == 20 == result["frames"]
    assert hashlib.sha256(data).hexdigest() == metadata["sha256"]
    (announced,) = camera_edge.wait_for_announcements(1, "videos")
    assert announced["job_id"] == result["job_id"]


def test_long_video_is_accepted_with_a_job_and_announced_when_stored(camera_edge: CameraEdge) -> None:
    camera_edge.start_camera()

    status, accepted = camera_edge.call("take_video", {"duration_s": 19, "fps": 5, "resolution": "160x120"})
    busy, _ = camera_edge.call("take_video", {"duration_s": 1})
    photo, _ = camera_edge.call("take_photo", {"resolution": "320x240"})  # stills go on during a recording

    assert (status, accepted["status"], busy, photo) == (202, "recording", 409, 200)
    (announced,) = camera_edge.wait_for_announcements(1, "videos", timeout_s=60)
    assert announced["job_id"] == accepted["job_id"] and announced["blob"] == accepted["blob"]
    assert announced["frames"] == 95
    _, status_body = camera_edge.call("get_status", {})
    assert status_body["video_jobs"][accepted["job_id"]]["status"] == "uploaded"


def test_bad_payloads_get_400_and_the_module_keeps_answering(camera_edge: CameraEdge) -> None:
    camera_edge.start_camera()
    for payload, field in [
        ({"quality": 0}, "quality"),
        ({"zoom": 3}, "zoom"),
        ({"resolution": "9x9000"}, "resolution"),
    ]:
        status, body = camera_edge.call("take_photo", payload)
        assert (status, body["field"]) == (400, field)
    assert camera_edge.call("take_video", {"duration_s": 999})[0] == 400
    assert camera_edge.call("no_such_method", {})[0] == 404
    assert camera_edge.call("take_photo", {"resolution": "64x48"})[0] == 200


def test_photos_taken_while_storage_is_down_upload_in_order_when_it_returns(camera_edge: CameraEdge) -> None:
    camera_edge.start_camera()

    def photo(n: int) -> tuple[int, Any]:
        return camera_edge.call("take_photo", {"resolution": "160x120", "label": f"n{n}"})

    before = [photo(n) for n in range(5)]
    camera_edge.azurite.stop()
    during = [photo(n) for n in range(5, 15)]
    _, status = camera_edge.call("get_status", {})
    camera_edge.azurite.start()
    after = [photo(n) for n in range(15, 20)]

    assert {code for code, _ in before} == {200} and {code for code, _ in during} == {202}
    assert status["uploads"]["pending"] == 10 and status["uploads"]["failed"] >= 1
    announced = camera_edge.wait_for_announcements(20, timeout_s=90)
    assert [a["label"] for a in announced] == [f"n{n}" for n in range(20)]
    assert [a["blob"] for a in announced] == [r["blob"] for _, r in before + during + after]
    for entry in announced:
        data, _ = blob_bytes(camera_edge, "photos", entry["blob"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert camera_edge.call("get_status", {})[1]["uploads"]["pending"] == 0


def test_a_restart_with_a_full_spool_uploads_the_rest(camera_edge: CameraEdge) -> None:
    camera = camera_edge.start_camera()
    camera_edge.azurite.stop()
    results = [camera_edge.call("take_photo", {"resolution": "96x64"})[1] for _ in range(5)]
    assert camera.stop() == 0
    assert len(list(camera_edge.spool_dir.glob("*.json"))) == 5
    camera_edge.azurite.start()

    camera_edge.start_camera()

    announced = camera_edge.wait_for_announcements(5, timeout_s=60)
    assert [a["blob"] for a in announced] == [r["blob"] for r in results]
    wait_for(lambda: not list(camera_edge.spool_dir.glob("*.json")), 10, "the spool to empty")


def test_a_full_spool_refuses_photos_with_507(camera_edge: CameraEdge) -> None:
    camera_edge.hub.patch_desired("camera", {"spool_limit_mb": 1})
    camera_edge.start_camera()
    camera_edge.azurite.stop()
    codes: list[int] = []
    while 507 not in codes and len(codes) < 40:
        codes.append(camera_edge.call("take_photo", {"resolution": "1920x1080", "quality": 100})[0])
    assert codes[-1] == 507 and set(codes[:-1]) == {202}
    assert camera_edge.call("get_status", {})[1]["refused_spool_full"] == 1
    camera_edge.azurite.start()
    accepted = codes.count(202)
    assert len(camera_edge.wait_for_announcements(accepted, timeout_s=60)) == accepted


def test_twin_settings_apply_live_and_bad_ones_are_reported(camera_edge: CameraEdge) -> None:
    camera_edge.start_camera()
    camera_edge.hub.patch_desired("camera", {"resolution": "320x240", "rotation": 90, "photos_container": "Bad!"})

    def reported() -> dict[str, Any]:
        return camera_edge.hub.get_twin("camera").get("reported", {})

    camera_edge.hub.wait_until(lambda: reported().get("settings", {}).get("rotation") == 90)
    assert "photos_container" in reported()["rejected"]
    status, result = camera_edge.call("take_photo", {})
    assert (status, result["width"], result["height"]) == (200, 320, 240)

    # A size the pattern allows but the camera cannot take is rejected with its reason, not applied.
    camera_edge.hub.patch_desired("camera", {"resolution": "10x4000"})
    camera_edge.hub.wait_until(lambda: "resolution" in (reported().get("rejected") or {}))
    assert reported()["rejected"]["resolution"] == "10 is outside 16-4096"
    assert reported()["settings"]["resolution"] == "320x240"


def test_a_trigger_message_and_the_timelapse_take_photos(camera_edge: CameraEdge) -> None:
    camera_edge.start_camera()
    probe = camera_edge.hub.module_client("probe")

    probe.send_message_to_output(Message(json.dumps({"label": "joystick-middle"})), "trigger")
    (triggered,) = camera_edge.wait_for_announcements(1)
    camera_edge.hub.patch_desired("camera", {"timelapse_interval_s": 0.5, "resolution": "64x48"})
    timelapse = camera_edge.wait_for_announcements(3)[1:]
    camera_edge.hub.patch_desired("camera", {"timelapse_interval_s": 0})

    assert (triggered["source"], triggered["label"]) == ("trigger", "joystick-middle")
    assert {a["source"] for a in timelapse} == {"timelapse"} and {a["width"] for a in timelapse} == {64}


def test_http_api_needs_the_bearer_token(camera_edge: CameraEdge) -> None:
    port = free_port(camera_edge.hub.bind)
    token = "s3cret-token-for-tests"
    camera_edge.start_camera(CAMERA_HTTP_PORT=str(port), CAMERA_HTTP_TOKEN=token, CAMERA_HTTP_BIND=camera_edge.hub.bind)
    base = f"http://{camera_edge.hub.bind}:{port}"

    def get(path: str, auth: str | None) -> tuple[int, bytes]:
        response = requests.get(base + path, headers={"Authorization": auth} if auth else {}, timeout=20)
        return response.status_code, response.content

    def listening() -> bool:
        try:
            requests.get(base + "/healthz", timeout=2)
        except requests.ConnectionError:
            return False
        return True

    # The module answers methods once its handlers are wired; the HTTP API starts with its tasks a moment later.
    wait_for(listening, 10, "the HTTP API to listen")
    assert get("/take_photo", None)[0] == 401
    assert get("/take_photo", "Bearer wrong-token-of-same-len")[0] == 401
    assert get("/take_photo", token)[0] == 401  # the scheme is part of the header
    assert get("/latest.jpg", None)[0] == 401
    assert get("/healthz", None)[0] == 200
    assert get("/take_photo?quality=abc", f"Bearer {token}")[0] == 400
    status, body = get("/take_photo?resolution=320x240", f"Bearer {token}")
    assert status == 200 and b'"sha256"' in body
    status, jpeg = get("/latest.jpg", f"Bearer {token}")
    assert status == 200 and cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == (240, 320, 3)
    assert get("/take_video?duration=1&resolution=160x120", f"Bearer {token}")[0] == 200
