"""The vision module end to end: `python -m vision` on the local hub, photos in Azurite, the real SDK.

A probe connected as module `camera` announces a photo exactly as the camera does;
the route table of the deployment sends it to vision, vision's `analysis` goes to
`$upstream` and its `detections` to a probe connected as module `sensor`.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.iot.device import Message
from azure.storage.blob import BlobServiceClient
from skimage import data as skdata

from edgekit.storage import read_sas_url
from tests.fixtures.azurite import AzuriteServer
from tests.fixtures.camera_photos import astronaut_jpeg, jpeg, photo_announcement, store_photo
from tests.fixtures.fake_vision import FakeVision
from tests.fixtures.hub import RunningHub, make_manifest
from tests.fixtures.module_process import ModuleProcess, module_env

pytestmark = pytest.mark.slow

ROUTES = {
    "cameraPhotosToVision": 'FROM /messages/modules/camera/outputs/photos INTO BrokeredEndpoint("/modules/vision/inputs/photos")',
    "visionAnalysisToIoTHub": "FROM /messages/modules/vision/outputs/analysis INTO $upstream",
    "visionDetectionsToSensor": "FROM /messages/modules/vision/outputs/detections WHERE $body.people_count > 0 OR $body.faces_count > 0 "
    'INTO BrokeredEndpoint("/modules/sensor/inputs/status")',
}
ASTRONAUT = astronaut_jpeg()


class VisionEdge:
    def __init__(self, hub: RunningHub, azurite: AzuriteServer, work: Path) -> None:
        self.hub, self.azurite, self.work = hub, azurite, work
        self.process: ModuleProcess | None = None

    def start(self, **extra: str) -> None:
        """`python -m vision`, ready once its twin reports the active backend."""
        settings = {
            "STORAGE_CONNECTION_STRING": self.azurite.connection_string,
            "VISION_CACHE_DIR": str(self.work / "cache"),
        }
        env = module_env(self.hub, "vision", ("VISION_", "AZURE_VISION_", "STORAGE_"), **(settings | extra))
        self.process = ModuleProcess(self.hub, "vision", env, self.work / "vision.log")
        self.wait(lambda: "active_backend" in self.reported(), "vision to report its backend")

    def reported(self) -> dict[str, Any]:
        assert self.process is not None
        return self.process.reported()

    def wait(self, condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
        assert self.process is not None
        self.process.wait_for(condition, what, timeout_s)

    def stop(self) -> int | None:
        return None if self.process is None else self.process.stop()

    def upload(self, data: bytes) -> str:
        return store_photo(self.azurite.connection_string, data)

    @property
    def service(self) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.azurite.connection_string)

    def announce(self, camera: Any, blob: str, data: bytes) -> dict[str, Any]:
        """Send what camera/uploader.py sends on `photos` once a photo is stored."""
        body = photo_announcement(self.azurite.connection_string, blob, data)
        message = Message(json.dumps(body), content_encoding="utf-8", content_type="application/json")
        message.custom_properties.update({"kind": "photo", "container": "photos"})
        camera.send_message_to_output(message, "photos")
        return body

    def analyses(self) -> list[dict[str, Any]]:
        return [
            json.loads(m.body)
            for _, m in self.hub.upstream(0, 1000)
            if m.source == "/messages/modules/vision/outputs/analysis"
        ]


@pytest.fixture
def vision_edge(start_hub: Callable[..., RunningHub], azurite: AzuriteServer, tmp_path: Path) -> Iterator[VisionEdge]:
    desired = {"thresholds": {"face_min_size": 40}, "hybrid": {"failures_to_open": 1, "cooldown_s": 60}}
    hub = start_hub(make_manifest({"camera": {}, "vision": desired, "sensor": {}}, ROUTES))
    edge = VisionEdge(hub, azurite, tmp_path)
    try:
        yield edge
    finally:
        assert edge.stop() in (None, 0)


def test_a_camera_photo_leads_to_an_analysis_with_the_same_sha256(vision_edge: VisionEdge) -> None:
    camera = vision_edge.hub.module_client("camera")
    sensor = vision_edge.hub.module_client("sensor")
    detections: queue.Queue[Any] = queue.Queue()
    sensor.on_message_received = detections.put
    vision_edge.start(VISION_BACKEND="local")

    sent = vision_edge.announce(camera, vision_edge.upload(ASTRONAUT), ASTRONAUT)
    vision_edge.wait(lambda: len(vision_edge.analyses()) == 1, "the analysis upstream")

    (analysis,) = vision_edge.analyses()
    assert analysis["photo"]["sha256"] == sent["sha256"] and analysis["photo"]["blob"] == sent["blob"]
    assert analysis["backend"] == "local" and analysis["faces_count"] == 1
    detection = detections.get(timeout=20)
    assert detection.input_name == "status"
    assert json.loads(detection.data)["faces_count"] == 1

    vision_edge.announce(camera, sent["blob"], ASTRONAUT)  # delivery is at least once
    vision_edge.wait(lambda: len(vision_edge.analyses()) == 2, "the second analysis")
    assert vision_edge.analyses()[1]["cached"] is True
    vision_edge.wait(lambda: vision_edge.reported()["stats"]["cache_hits"] == 1, "the cache hit to be reported")
    assert vision_edge.reported()["stats"]["analyzed"] == 1


def test_a_missing_blob_is_reported_upstream_and_the_module_keeps_going(vision_edge: VisionEdge) -> None:
    camera = vision_edge.hub.module_client("camera")
    vision_edge.start(VISION_BACKEND="local")
    vision_edge.announce(camera, "edge-local/never-stored.jpg", ASTRONAUT)
    camera.send_message_to_output(Message(b"garbage"), "photos")
    vision_edge.wait(lambda: len(vision_edge.analyses()) == 2, "two error analyses")
    codes = sorted(a["error"]["code"] for a in vision_edge.analyses())
    assert codes == ["BlobNotFound", "InvalidMessage"]
    status, _ = vision_edge.hub.invoke_method("vision", "analyze", {"blob": vision_edge.upload(ASTRONAUT)})
    assert status == 200


def test_analyze_method_and_backend_from_the_twin(vision_edge: VisionEdge, fake_vision: FakeVision) -> None:
    vision_edge.start(AZURE_VISION_ENDPOINT=fake_vision.endpoint, AZURE_VISION_KEY=fake_vision.key)
    assert vision_edge.reported()["active_backend"] == "hybrid"  # the default with Azure settings
    blob = vision_edge.upload(ASTRONAUT)

    status, result = vision_edge.hub.invoke_method("vision", "analyze", {"blob": blob})
    assert status == 200 and result["backend"] == "azure" and result["fallback"] is None

    fake_vision.stop()
    status, result = vision_edge.hub.invoke_method("vision", "analyze", {"blob": blob, "backend": "hybrid"})
    assert status == 200 and result.get("cached") is True  # already analysed by the cloud: not billed again
    other = jpeg(skdata.coffee())
    url = read_sas_url(vision_edge.service, "photos", vision_edge.upload(other))
    status, result = vision_edge.hub.invoke_method("vision", "analyze", {"url": url})
    assert status == 200 and result["backend"] == "local"
    assert result["fallback"] == {"from": "azure", "reason": "Unreachable"}

    assert vision_edge.hub.invoke_method("vision", "analyze", {"blob": blob, "backend": "gpu"})[0] == 400
    assert vision_edge.hub.invoke_method("vision", "analyze", {"container": "photos"}) == (
        400,
        {"error": "is required (or url)", "field": "blob"},
    )
    assert vision_edge.hub.invoke_method("vision", "analyze", {"blob": "edge-local/gone.jpg"})[0] == 404

    vision_edge.hub.patch_desired("vision", {"backend": "local"})
    vision_edge.wait(lambda: vision_edge.reported()["active_backend"] == "local", "the backend to change")
    vision_edge.hub.patch_desired("vision", {"thresholds": {"motion": 7}})
    vision_edge.wait(
        lambda: "thresholds" in (vision_edge.reported().get("rejected") or {}), "the bad setting to be rejected"
    )
