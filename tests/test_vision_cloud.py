"""Both Azure analysers through their real SDKs against a local server speaking the service's REST shapes."""

from __future__ import annotations

import hashlib
import logging
import time

import cv2
import numpy as np
import pytest
from jsonschema import Draft202012Validator
from skimage import data as skdata
from vision.analyzers import create_analyzer
from vision.analyzers.base import Analyzer, AnalyzerConfig, RetryRules
from vision.analyzers.cloud import parse_retry_after
from vision.errors import AnalysisError
from vision.result import ANALYSIS_SCHEMA, PhotoRef, analysis_body

from tests.fixtures.camera_photos import astronaut_jpeg, jpeg
from tests.fixtures.fake_vision import V32_PATH, V40_PATH, FakeVision, Reply, error

BACKENDS = [("azure", V32_PATH), ("azure-v4", V40_PATH)]


ASTRONAUT = astronaut_jpeg()


def analyzer(fake: FakeVision, backend: str, key: str | None = None, **retry: float) -> Analyzer:
    rules = RetryRules(**{"max_attempts": 3, "max_wait_s": 5.0, "backoff_initial_s": 0.05, **retry})
    return create_analyzer(backend, AnalyzerConfig(endpoint=fake.endpoint, key=key or fake.key, retry=rules))


def analysis_error(a: Analyzer, image: bytes = ASTRONAUT) -> AnalysisError:
    with pytest.raises(AnalysisError) as caught:
        a.analyze(image, PhotoRef())
    return caught.value


@pytest.mark.parametrize(("backend", "path"), BACKENDS)
def test_result_from_the_service_in_the_common_schema(fake_vision: FakeVision, backend: str, path: str) -> None:
    findings = analyzer(fake_vision, backend).analyze(ASTRONAUT, PhotoRef(blob="a.jpg"))
    body = analysis_body(
        PhotoRef(blob="a.jpg"), hashlib.sha256(ASTRONAUT).hexdigest(), findings, "2026-01-01T00:00:00Z", 5.0
    )
    Draft202012Validator(ANALYSIS_SCHEMA).validate(body)
    assert body["backend"] == backend
    assert body["caption"] == fake_vision.scene.caption
    assert [t["name"] for t in body["tags"]] == ["person", "outdoor"]
    assert body["people_count"] == 1  # v4's near-zero-confidence person is below person_threshold
    assert {
        "name": "person",
        "confidence": body["objects"][0]["confidence"],
        "box": {"x": 102, "y": 26, "w": 307, "h": 461},
    } in body["objects"]
    assert body["quality"]["sharpness"] > 0
    assert set(body["stages_ms"]) == {"prepare", "request"}
    seen = fake_vision.seen[-1]
    assert seen.path == path and seen.body == ASTRONAUT  # the image arrives whole, de-chunked for v3.2


def test_v32_sends_chunked_and_asks_for_the_configured_features(fake_vision: FakeVision) -> None:
    config = AnalyzerConfig(endpoint=fake_vision.endpoint, key=fake_vision.key, features=frozenset({"faces", "color"}))
    findings = create_analyzer("azure", config).analyze(ASTRONAUT, PhotoRef())
    seen = fake_vision.seen[-1]
    assert seen.headers["transfer-encoding"] == "chunked"
    assert seen.query["visualFeatures"] == ["Color,Faces"]
    assert findings.faces[0].w == 97 and findings.color is not None and findings.color.accent == "1F5A8C"


def test_v40_asks_for_the_configured_features(fake_vision: FakeVision) -> None:
    config = AnalyzerConfig(
        endpoint=fake_vision.endpoint, key=fake_vision.key, features=frozenset({"caption", "people"})
    )
    create_analyzer("azure-v4", config).analyze(ASTRONAUT, PhotoRef())
    seen = fake_vision.seen[-1]
    assert seen.query["features"] == ["caption,people"] and seen.query["api-version"] == ["2023-10-01"]


@pytest.mark.parametrize(("backend", "path"), BACKENDS)
def test_429_is_retried_after_retry_after(fake_vision: FakeVision, backend: str, path: str) -> None:
    fake_vision.queue(error(429, "429", "Rate limit is exceeded.", **{"Retry-After": "1"}))
    started = time.monotonic()
    findings = analyzer(fake_vision, backend).analyze(ASTRONAUT, PhotoRef())
    assert time.monotonic() - started >= 1.0  # it waited as told, not less
    assert findings.backend == backend and len(fake_vision.seen) == 2


@pytest.mark.parametrize(("backend", "path"), BACKENDS)
def test_503_without_body_is_retried_with_back_off(fake_vision: FakeVision, backend: str, path: str) -> None:
    fake_vision.queue(Reply(503), Reply(503))
    assert analyzer(fake_vision, backend).analyze(ASTRONAUT, PhotoRef()).backend == backend
    assert len(fake_vision.seen) == 3


@pytest.mark.parametrize(("backend", "path"), BACKENDS)
def test_a_retry_after_beyond_the_budget_is_over_quota_at_once(
    fake_vision: FakeVision, backend: str, path: str
) -> None:
    fake_vision.queue(error(429, "429", "Out of call volume quota.", **{"Retry-After": "3600"}))
    e = analysis_error(analyzer(fake_vision, backend))
    assert (e.kind, e.status, e.retry_after_s) == ("quota", 429, 3600.0)
    assert len(fake_vision.seen) == 1


@pytest.mark.parametrize(("backend", "path"), BACKENDS)
def test_persistent_503_gives_up_after_max_attempts(fake_vision: FakeVision, backend: str, path: str) -> None:
    fake_vision.queue(*[Reply(503)] * 5)
    e = analysis_error(analyzer(fake_vision, backend, max_attempts=2))
    assert (e.kind, e.status) == ("unavailable", 503)
    assert len(fake_vision.seen) == 2


@pytest.mark.parametrize(("backend", "path"), BACKENDS)
def test_a_wrong_key_is_reported_once_and_not_retried(
    fake_vision: FakeVision, backend: str, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    a = analyzer(fake_vision, backend, key="wrong-key")
    with caplog.at_level(logging.ERROR, logger="vision.analyzers.cloud"):
        first, second = analysis_error(a), analysis_error(a)
    assert (first.kind, first.status) == ("auth", 401) and second.kind == "auth"
    assert len(fake_vision.seen) == 1  # the second photo was answered without a call
    assert len([r for r in caplog.records if "refused the key" in r.message]) == 1
    assert "wrong-key" not in caplog.text


@pytest.mark.parametrize(("backend", "path"), BACKENDS)
def test_invalid_image_format_from_the_service(fake_vision: FakeVision, backend: str, path: str) -> None:
    fake_vision.queue(error(400, "InvalidRequest", "Input data is not a valid image.", "InvalidImageFormat"))
    e = analysis_error(analyzer(fake_vision, backend))
    assert (e.code, e.kind, e.status) == ("InvalidImageFormat", "image", 400)
    assert len(fake_vision.seen) == 1


@pytest.mark.parametrize(("backend", "path"), BACKENDS)
def test_bytes_that_are_no_image_never_reach_the_service(fake_vision: FakeVision, backend: str, path: str) -> None:
    e = analysis_error(analyzer(fake_vision, backend), b"GIF89a but not really")
    assert e.code == "InvalidImageFormat" and fake_vision.seen == []


@pytest.mark.parametrize(("backend", "path"), BACKENDS)
def test_an_unreachable_endpoint_is_unavailable(fake_vision: FakeVision, backend: str, path: str) -> None:
    a = analyzer(fake_vision, backend)
    fake_vision.stop()
    e = analysis_error(a)
    assert (e.code, e.kind) == ("Unreachable", "unavailable")


def test_an_image_over_4_mb_is_shrunk_for_v32_and_boxes_mapped_back(fake_vision: FakeVision) -> None:
    noise = np.random.default_rng(7).integers(0, 256, (1600, 2400, 3), dtype=np.uint8)
    big = jpeg(noise, quality=100)
    assert len(big) > 4 * 1024 * 1024
    findings = analyzer(fake_vision, "azure").analyze(big, PhotoRef())
    sent = fake_vision.seen[-1].body
    assert len(sent) < 4 * 1024 * 1024 and sent.startswith(b"\xff\xd8\xff")
    assert (findings.width, findings.height) == (2400, 1600)
    person = findings.objects[0].box  # the fake puts it at x = 20% and w = 60% of what it received
    assert abs(person.x - 480) <= 3 and abs(person.w - 1440) <= 3


def test_webp_is_sent_to_v40_as_it_is_but_re_encoded_for_v32(fake_vision: FakeVision) -> None:
    ok, webp = cv2.imencode(".webp", cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR))
    assert ok
    analyzer(fake_vision, "azure-v4").analyze(webp.tobytes(), PhotoRef())
    assert fake_vision.seen[-1].body == webp.tobytes()
    analyzer(fake_vision, "azure").analyze(webp.tobytes(), PhotoRef())
    assert fake_vision.seen[-1].body.startswith(b"\xff\xd8\xff")


def test_retry_after_parses_seconds_and_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: retry now
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_a_cloud_backend_without_settings_names_them() -> None:
    with pytest.raises(ValueError, match="AZURE_VISION_ENDPOINT and AZURE_VISION_KEY"):
        create_analyzer("azure", AnalyzerConfig())
