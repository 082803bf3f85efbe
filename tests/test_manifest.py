"""`central.manifest`: a generated manifest read through named accessors, refused when it is broken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from central.manifest import Manifest, ManifestError

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = Path(__file__).parent / "manifests"


@pytest.fixture
def manifest() -> Manifest:
    return Manifest.load(MANIFESTS / "expected" / "deployment.arm32v7.json")


def test_modules_in_manifest_order_with_their_run_settings(manifest: Manifest) -> None:
    assert list(manifest.modules) == ["sensor", "vision", "camera"]
    camera = manifest.modules["camera"]
    assert camera.image == "localhost:5000/camera:0.1.0-arm32v7"
    assert (camera.status, camera.restart_policy, camera.startup_order) == ("running", "always", 3)
    assert camera.env["CAMERA_BACKEND"] == "picamera2"


def test_create_options_are_joined_from_their_pieces(manifest: Manifest) -> None:
    settings = manifest.modules["camera"].entry["settings"]
    assert "createOptions01" in settings  # the camera's device list needs more than one piece
    devices = manifest.modules["camera"].create_options["HostConfig"]["Devices"]
    assert {"PathOnHost": "/dev/vchiq", "PathInContainer": "/dev/vchiq", "CgroupPermissions": "rw"} in devices


def test_system_modules_hub_settings_and_twins(manifest: Manifest) -> None:
    assert manifest.system_modules["edgeHub"].image == "mcr.microsoft.com/azureiotedge-hub:1.5"
    assert manifest.hub_desired["schemaVersion"] == "1.2"
    assert manifest.store_and_forward_ttl_s == 7200
    assert manifest.routes["sensorAlertsToIoTHub"]["priority"] == 0
    assert manifest.twin_desired("camera")["quality"] == 85
    assert manifest.twin_desired("no-such-module") == {}


def test_env_values_are_text() -> None:
    document = json.loads((MANIFESTS / "expected" / "deployment.amd64.json").read_text())
    env = document["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]["sensor"]["env"]
    env.update({"FLAG": {"value": True}, "COUNT": {"value": 3}})
    assert dict(Manifest(document).modules["sensor"].env) == {
        "SENSE_BACKEND": "sense-hat",
        "FLAG": "True",
        "COUNT": "3",
    }


def test_a_broken_manifest_is_refused_with_every_problem() -> None:
    with pytest.raises(ManifestError) as refused:
        Manifest.load(MANIFESTS / "broken" / "route-unknown-sink-module.json")
    assert [p.path for p in refused.value.problems] == [
        "/modulesContent/$edgeHub/properties.desired/routes/cameraPhotosToVision"
    ]
    assert "route-unknown-sink-module.json: 1 problem(s)" in str(refused.value)


def test_a_template_is_refused() -> None:
    with pytest.raises(ManifestError, match="central genconfig"):
        Manifest.load(ROOT / "deployment.template.json")


def test_text_that_is_not_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text("{")
    with pytest.raises(ManifestError, match="not valid JSON"):
        Manifest.load(tmp_path / "m.json")
