"""Overlay boxes are read from the vision module's own `analysis` body, so the field names cannot drift."""

from vision.errors import AnalysisError
from vision.result import Box, DetectedObject, Findings, PhotoRef, Tag, analysis_body, error_body

from central.dashboard.overlay import Shape, canvas, shapes

PHOTO = PhotoRef(blob="edge/1.jpg", container="photos")
SHA = "0" * 64


def body(findings: Findings) -> dict:
    return analysis_body(PHOTO, SHA, findings, "2026-01-01T00:00:00Z", 12.0)


def test_faces_people_and_objects_become_boxes_people_before_other_objects() -> None:
    findings = Findings(
        "local",
        "opencv",
        640,
        480,
        tags=[Tag("person", 0.9)],
        objects=[
            DetectedObject("dog", 0.5, Box(1, 2, 3, 4)),
            DetectedObject("person", 0.875, Box(10, 20, 30, 40)),
        ],
        faces=[Box(5, 6, 7, 8)],
        people_count=1,
    )
    analysis = body(findings)
    assert canvas(analysis) == (640, 480)
    assert shapes(analysis) == [
        Shape("face", 5, 6, 7, 8, "face"),
        Shape("person", 10, 20, 30, 40, "person 88%"),
        Shape("object", 1, 2, 3, 4, "dog 50%"),
    ]


def test_a_failed_analysis_draws_nothing_and_has_no_size() -> None:
    failed = error_body(PHOTO, None, "azure", AnalysisError("BlobNotFound", "gone"), "2026-01-01T00:00:00Z", 1.0)
    assert shapes(failed) == []
    assert canvas(failed) is None


def test_no_analysis_yet() -> None:
    assert shapes(None) == []
    assert canvas(None) is None
    assert canvas({"photo": {"width": 0, "height": 480}}) is None
