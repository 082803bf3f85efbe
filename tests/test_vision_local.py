"""The OpenCV analyser on real photographs that ship in PyPI packages, and the image helpers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from jsonschema import Draft202012Validator
from skimage import data as skdata
from sklearn.datasets import load_sample_image
from vision.analyzers.base import AnalyzerConfig, Thresholds
from vision.analyzers.color import color_name
from vision.analyzers.local import LocalAnalyzer
from vision.errors import AnalysisError
from vision.imaging import UploadLimits, decode, image_format, prepare_upload
from vision.result import ANALYSIS_SCHEMA, PhotoRef, analysis_body, detections_body

from tests.fixtures.camera_photos import astronaut_jpeg, jpeg

SHA = "0" * 64


@pytest.fixture(scope="module")
def astronaut() -> bytes:
    return astronaut_jpeg()


@pytest.fixture(scope="module")
def china() -> bytes:
    return jpeg(load_sample_image("china.jpg"))


def overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_finds_the_astronauts_face(astronaut: bytes) -> None:
    findings = LocalAnalyzer().analyze(astronaut, PhotoRef(blob="a.jpg"))
    assert len(findings.faces) == 1
    face = findings.faces[0]
    assert overlap((face.x, face.y, face.w, face.h), (177, 66, 95, 95)) > 0.6
    assert findings.people_count == 1
    assert [t.name for t in findings.tags][:2] == ["person", "face"]
    assert (findings.width, findings.height) == (512, 512)


def test_finds_no_face_or_person_in_a_landscape(china: bytes) -> None:
    findings = LocalAnalyzer().analyze(china, PhotoRef(blob="c.jpg"))
    assert findings.faces == []
    assert findings.people_count == 0
    assert "person" not in {t.name for t in findings.tags}


def test_every_stage_is_timed(astronaut: bytes) -> None:
    findings = LocalAnalyzer().analyze(astronaut, PhotoRef())
    assert {"decode", "faces", "people", "color", "quality", "motion", "tags"} <= set(findings.stages_ms)


def test_features_switch_stages_off(astronaut: bytes) -> None:
    findings = LocalAnalyzer(AnalyzerConfig(features=frozenset({"color"}))).analyze(astronaut, PhotoRef())
    assert findings.faces == [] and findings.tags == [] and findings.motion is None
    assert findings.color is not None
    assert "faces" not in findings.stages_ms


def test_face_min_size_above_the_face_hides_it(astronaut: bytes) -> None:
    config = AnalyzerConfig(thresholds=Thresholds(face_min_size=200))
    assert LocalAnalyzer(config).analyze(astronaut, PhotoRef()).faces == []


def test_motion_against_the_previous_photo(astronaut: bytes, china: bytes) -> None:
    analyzer = LocalAnalyzer()
    assert analyzer.analyze(astronaut, PhotoRef()).motion is None  # nothing to compare with yet
    still = analyzer.analyze(astronaut, PhotoRef())
    assert still.motion == 0.0 and "motion" not in {t.name for t in still.tags}
    moved = analyzer.analyze(china, PhotoRef())
    assert moved.motion is not None and moved.motion > 0.3
    assert "motion" in {t.name for t in moved.tags}


def test_dark_blurred_grey_photo_is_tagged_so() -> None:
    grey = np.full((240, 320, 3), 20, np.uint8)
    findings = LocalAnalyzer().analyze(jpeg(grey), PhotoRef())
    assert {"dark", "blurry", "black and white"} <= {t.name for t in findings.tags}
    assert findings.color is not None and findings.color.dominant_colors == ("Black",)
    assert findings.quality is not None and findings.quality.brightness < 0.1


@pytest.mark.parametrize(
    ("bgr", "name"),
    [
        ((0, 0, 0), "Black"),
        ((255, 255, 255), "White"),
        ((128, 128, 128), "Gray"),
        ((0, 0, 220), "Red"),
        ((0, 200, 0), "Green"),
        ((220, 0, 0), "Blue"),
        ((0, 220, 220), "Yellow"),
        ((20, 60, 110), "Brown"),
    ],
)
def test_color_names_follow_azures_palette(bgr: tuple[int, int, int], name: str) -> None:
    assert color_name(np.array(bgr, np.float32)) == name


def test_result_matches_the_schema_and_yields_detections(astronaut: bytes, china: bytes) -> None:
    validator = Draft202012Validator(ANALYSIS_SCHEMA)
    analyzer = LocalAnalyzer()
    with_face = analysis_body(
        PhotoRef(blob="a.jpg", container="photos"),
        SHA,
        analyzer.analyze(astronaut, PhotoRef()),
        "2026-01-01T00:00:00Z",
        12.5,
    )
    validator.validate(with_face)
    detections = detections_body(with_face)
    assert detections is not None and detections["faces_count"] == 1 and detections["photo"]["sha256"] == SHA
    landscape = analysis_body(
        PhotoRef(blob="c.jpg"), SHA, analyzer.analyze(china, PhotoRef()), "2026-01-01T00:00:00Z", 9.0
    )
    validator.validate(landscape)
    assert detections_body(landscape) is None


@pytest.mark.parametrize("data", [b"", b"not an image at all", jpeg(skdata.astronaut())[:200]])
def test_undecodable_bytes_are_invalid_image_format(data: bytes) -> None:
    with pytest.raises(AnalysisError) as caught:
        LocalAnalyzer().analyze(data, PhotoRef())
    assert caught.value.code == "InvalidImageFormat" and caught.value.kind == "image"


LIMITS = UploadLimits(
    max_bytes=4 * 1024 * 1024, min_side=50, max_side=16000, formats=frozenset({"jpeg", "png", "gif", "bmp"})
)


def test_an_acceptable_image_is_sent_as_it_is(astronaut: bytes) -> None:
    assert prepare_upload(astronaut, decode(astronaut), LIMITS) is astronaut


def test_webp_is_re_encoded_as_jpeg() -> None:
    ok, webp = cv2.imencode(".webp", cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR))
    assert ok and image_format(webp.tobytes()) == "webp"
    sent = prepare_upload(webp.tobytes(), decode(webp.tobytes()), LIMITS)
    assert image_format(sent) == "jpeg"


def test_too_small_is_scaled_up_and_too_many_bytes_scaled_down() -> None:
    tiny = jpeg(np.full((30, 40, 3), 128, np.uint8))
    up = decode(prepare_upload(tiny, decode(tiny), LIMITS))
    assert min(up.shape[:2]) > 50
    noise = np.random.default_rng(1).integers(0, 256, (1500, 2000, 3), dtype=np.uint8)
    big = jpeg(noise, quality=100)
    assert len(big) > LIMITS.max_bytes
    sent = prepare_upload(big, decode(big), LIMITS)
    assert len(sent) < LIMITS.max_bytes and image_format(sent) == "jpeg"


def test_an_image_that_cannot_fit_is_invalid_image_size() -> None:
    strip = np.full((10, 4000, 3), 200, np.uint8)
    data = jpeg(strip)
    with pytest.raises(AnalysisError) as caught:
        prepare_upload(data, decode(data), UploadLimits(4 * 1024 * 1024, 50, 1000, frozenset({"jpeg"})))
    assert caught.value.code == "InvalidImageSize"
