"""The pipeline against real Azurite: camera-shaped messages in, one `analysis` body out for each."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from jsonschema import Draft202012Validator
from vision.cache import ResultCache
from vision.pipeline import VisionPipeline
from vision.result import ANALYSIS_SCHEMA, PhotoRef
from vision.settings import VisionEnv, default_settings

from edgekit.storage import read_sas_url
from tests.fixtures.azurite import AzuriteServer
from tests.fixtures.camera_photos import astronaut_jpeg, photo_announcement, store_photo
from tests.fixtures.fake_vision import FakeVision

pytestmark = pytest.mark.slow
VALIDATOR = Draft202012Validator(ANALYSIS_SCHEMA)
ASTRONAUT = astronaut_jpeg()


def upload(azurite: AzuriteServer, data: bytes) -> str:
    return store_photo(azurite.connection_string, data)


def camera_message(azurite: AzuriteServer, blob: str, data: bytes, with_url: bool = True) -> bytes:
    """What the camera module announces on `photos` (camera/photos.py and uploader.py)."""
    return json.dumps(photo_announcement(azurite.connection_string, blob, data, with_url)).encode()


def pipeline(
    azurite: AzuriteServer, cache_dir: Path, backend: str = "local", fake: FakeVision | None = None
) -> VisionPipeline:
    env = VisionEnv(
        backend=backend,
        endpoint=fake.endpoint if fake else None,
        key=fake.key if fake else None,
        storage_connection_string=azurite.connection_string,
        cache_dir=cache_dir,
    )
    p = VisionPipeline(env, ResultCache(cache_dir))
    p.configure(default_settings(env))
    return p


@pytest.mark.parametrize("with_url", [True, False], ids=["sas-url", "connection-string"])
def test_a_camera_photo_becomes_an_analysis_with_its_sha256(
    azurite: AzuriteServer, tmp_path: Path, with_url: bool
) -> None:
    blob = upload(azurite, ASTRONAUT)
    analysis = pipeline(azurite, tmp_path).handle_message(camera_message(azurite, blob, ASTRONAUT, with_url))
    VALIDATOR.validate(analysis)
    assert "error" not in analysis
    assert analysis["photo"] == {
        "blob": blob,
        "container": "photos",
        "sha256": hashlib.sha256(ASTRONAUT).hexdigest(),
        "width": 512,
        "height": 512,
    }
    assert analysis["faces_count"] == 1 and analysis["backend"] == "local"


def test_a_redelivered_photo_is_not_analysed_or_billed_twice_even_after_a_restart(
    azurite: AzuriteServer, fake_vision: FakeVision, tmp_path: Path
) -> None:
    blob = upload(azurite, ASTRONAUT)
    message = camera_message(azurite, blob, ASTRONAUT)
    first = pipeline(azurite, tmp_path, "azure", fake_vision)
    fresh = first.handle_message(message)
    again = first.handle_message(message)
    restarted = pipeline(azurite, tmp_path, "azure", fake_vision).handle_message(message)
    assert len(fake_vision.seen) == 1
    assert fresh["backend"] == "azure" and "cached" not in fresh
    assert again == restarted == {**fresh, "cached": True}
    assert first.stats.analyzed == 1 and first.stats.cache_hits == 1
    VALIDATOR.validate(again)


def test_the_same_bytes_in_another_blob_are_answered_from_the_cache_under_their_own_name(
    azurite: AzuriteServer, fake_vision: FakeVision, tmp_path: Path
) -> None:
    p = pipeline(azurite, tmp_path, "azure", fake_vision)
    p.handle_message(camera_message(azurite, upload(azurite, ASTRONAUT), ASTRONAUT))
    copy = upload(azurite, ASTRONAUT)
    again = p.handle_message(camera_message(azurite, copy, ASTRONAUT))
    assert again["cached"] is True and again["photo"]["blob"] == copy
    assert len(fake_vision.seen) == 1


def test_another_backend_analyses_again(azurite: AzuriteServer, fake_vision: FakeVision, tmp_path: Path) -> None:
    blob = upload(azurite, ASTRONAUT)
    message = camera_message(azurite, blob, ASTRONAUT)
    p = pipeline(azurite, tmp_path, "azure", fake_vision)
    assert p.handle_message(message)["backend"] == "azure"
    p.configure({**default_settings(p.env), "backend": "local"})
    assert p.handle_message(message)["backend"] == "local"


def test_unreachable_storage_is_an_error_without_the_sas_signature() -> None:
    from vision.blobs import BlobReader
    from vision.errors import AnalysisError

    from tests.fixtures.network import free_port

    url = f"http://127.0.0.1:{free_port()}/devstoreaccount1/photos/a.jpg?sv=2025-01-05&sr=b&sp=r&sig=TOPSECRET"
    with pytest.raises(AnalysisError) as caught:
        BlobReader(None).read(PhotoRef(blob="a.jpg", url=url))
    assert (caught.value.code, caught.value.kind) == ("StorageUnavailable", "unavailable")
    assert "TOPSECRET" not in str(caught.value)


def test_redact_removes_query_strings_from_error_text() -> None:
    from vision.blobs import redact

    text = "Max retries exceeded with url: /devstoreaccount1/photos/a.jpg?sv=1&sig=TOPSECRET (Caused by ...)"
    assert redact(text) == "Max retries exceeded with url: /devstoreaccount1/photos/a.jpg?<redacted> (Caused by ...)"


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path, max_entries=3)
    for i in range(5):
        cache.put(cache.key(f"{i:064x}", "local"), {"n": i})
    assert len(cache) == 3
    assert cache.get(cache.key(f"{0:064x}", "local")) is None
    assert cache.get(cache.key(f"{4:064x}", "local")) == {"n": 4}


def error_of(analysis: dict[str, Any]) -> dict[str, Any]:
    VALIDATOR.validate(analysis)
    return analysis["error"]


def test_a_missing_blob_is_an_analysis_with_an_error(azurite: AzuriteServer, tmp_path: Path) -> None:
    message = camera_message(azurite, "edge-local/gone.jpg", ASTRONAUT)
    p = pipeline(azurite, tmp_path)
    error = error_of(p.handle_message(message))
    assert (error["code"], error["status"]) == ("BlobNotFound", 404)
    assert p.stats.failures == 1 and p.reported()["last_error"]["code"] == "BlobNotFound"


def test_a_blob_that_is_not_an_image_is_an_analysis_with_an_error(azurite: AzuriteServer, tmp_path: Path) -> None:
    junk = b"this is a text file, not a JPEG"
    blob = upload(azurite, junk)
    analysis = pipeline(azurite, tmp_path).handle_message(camera_message(azurite, blob, junk))
    assert error_of(analysis)["code"] == "InvalidImageFormat"
    assert analysis["photo"]["sha256"] == hashlib.sha256(junk).hexdigest()


def test_a_blob_that_changed_since_the_message_is_a_checksum_mismatch(azurite: AzuriteServer, tmp_path: Path) -> None:
    blob = upload(azurite, ASTRONAUT)
    message = camera_message(azurite, blob, b"other bytes")
    error = error_of(pipeline(azurite, tmp_path).handle_message(message))
    assert (error["code"], error["field"]) == ("ChecksumMismatch", "sha256")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", ""),
        (b"[]", ""),
        (b'{"container": "photos"}', "blob"),
        (b'{"blob": "a.jpg", "sha256": "xyz"}', "sha256"),
        (b'{"url": "ftp://x/y"}', "url"),
    ],
)
def test_a_bad_message_is_an_analysis_naming_the_field(
    azurite: AzuriteServer, tmp_path: Path, body: bytes, field: str
) -> None:
    error = error_of(pipeline(azurite, tmp_path).handle_message(body))
    assert (error["code"], error["field"]) == ("InvalidMessage", field)


def test_a_cloud_4xx_is_an_analysis_with_an_error(
    azurite: AzuriteServer, fake_vision: FakeVision, tmp_path: Path
) -> None:
    blob = upload(azurite, ASTRONAUT)
    p = pipeline(azurite, tmp_path, "azure", fake_vision)
    fake_vision.key = "rotated"  # the service no longer takes the module's key
    analysis = p.handle_message(camera_message(azurite, blob, ASTRONAUT))
    assert error_of(analysis)["kind"] == "auth" and analysis["backend"] == "azure"


def test_a_backend_that_cannot_start_keeps_the_previous_one(azurite: AzuriteServer, tmp_path: Path) -> None:
    p = pipeline(azurite, tmp_path)
    p.configure({**default_settings(p.env), "backend": "azure"})  # no endpoint or key in the environment
    assert p.backend == "local" and "AZURE_VISION_ENDPOINT" in (p.reported()["backend_error"] or "")


def test_an_ad_hoc_backend_by_url(azurite: AzuriteServer, fake_vision: FakeVision, tmp_path: Path) -> None:
    blob = upload(azurite, ASTRONAUT)
    url = read_sas_url(BlobServiceClient.from_connection_string(azurite.connection_string), "photos", blob)
    p = pipeline(azurite, tmp_path, "local", fake_vision)
    analysis = p.process(PhotoRef(url=url), backend="azure-v4")
    VALIDATOR.validate(analysis)
    assert analysis["backend"] == "azure-v4" and p.backend == "local"
