"""The one result shape every analyser produces, and the messages built from it.

Analysers return `Findings` (what they saw); the pipeline adds the photo, the
time and the duration and turns it into the `analysis` message body. Whatever
analysed the photo (Azure v3.2, Image Analysis 4.0, OpenCV on the device), the
body validates against `ANALYSIS_SCHEMA`, so cloud rules and dashboards read one
format. A field a backend cannot produce is null or empty, never missing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vision.errors import AnalysisError


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class Tag:
    name: str
    confidence: float


@dataclass(frozen=True)
class DetectedObject:
    name: str
    confidence: float
    box: Box


@dataclass(frozen=True)
class Colors:
    dominant_foreground: str | None
    dominant_background: str | None
    dominant_colors: tuple[str, ...]
    accent: str | None
    is_bw: bool


@dataclass(frozen=True)
class Quality:
    brightness: float
    sharpness: float


@dataclass(frozen=True)
class PhotoRef:
    """Which photo: where to fetch it and what the sender said about it."""

    blob: str | None = None
    container: str | None = None
    url: str | None = field(default=None, repr=False)  # a SAS URL is a credential: never logged
    sha256: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass
class Findings:
    """What one analyser saw in one image."""

    backend: str
    model_version: str
    width: int
    height: int
    tags: list[Tag] = field(default_factory=list)
    caption: str | None = None
    objects: list[DetectedObject] = field(default_factory=list)
    faces: list[Box] = field(default_factory=list)
    people_count: int = 0
    color: Colors | None = None
    quality: Quality | None = None
    motion: float | None = None
    stages_ms: dict[str, float] = field(default_factory=dict)
    fallback: dict[str, str] | None = None


def _photo_json(photo: PhotoRef, sha256: str | None, size: tuple[int, int] | None) -> dict[str, Any]:
    width, height = size if size is not None else (photo.width, photo.height)
    return {"blob": photo.blob, "container": photo.container, "sha256": sha256, "width": width, "height": height}


def analysis_body(
    photo: PhotoRef, sha256: str, findings: Findings, analyzed_at: str, duration_ms: float
) -> dict[str, Any]:
    return {
        "photo": _photo_json(photo, sha256, (findings.width, findings.height)),
        "backend": findings.backend,
        "model_version": findings.model_version,
        "tags": [asdict(t) for t in findings.tags],
        "caption": findings.caption,
        "objects": [asdict(o) for o in findings.objects],
        "faces": [{"box": asdict(b)} for b in findings.faces],
        "faces_count": len(findings.faces),
        "people_count": findings.people_count,
        "color": None
        if findings.color is None
        else {**asdict(findings.color), "dominant_colors": list(findings.color.dominant_colors)},
        "quality": None if findings.quality is None else asdict(findings.quality),
        "motion": findings.motion,
        "fallback": findings.fallback,
        "stages_ms": {k: round(v, 2) for k, v in findings.stages_ms.items()},
        "analyzed_at": analyzed_at,
        "duration_ms": round(duration_ms, 2),
    }


def error_body(
    photo: PhotoRef, sha256: str | None, backend: str, error: AnalysisError, analyzed_at: str, duration_ms: float
) -> dict[str, Any]:
    return {
        "photo": _photo_json(photo, sha256, None),
        "backend": backend,
        "error": error.to_json(),
        "analyzed_at": analyzed_at,
        "duration_ms": round(duration_ms, 2),
    }


def detections_body(analysis: dict[str, Any]) -> dict[str, Any] | None:
    """The `detections` message for an analysis that saw a person or a face, else None.

    It carries `people_count` and `faces_count` at the top level because the default
    route to the sensor filters on them (`WHERE $body.people_count > 0 OR $body.faces_count > 0`).
    """
    if "error" in analysis or (analysis["people_count"] == 0 and analysis["faces_count"] == 0):
        return None
    people = [o for o in analysis["objects"] if o["name"] == "person"]
    return {
        "photo": analysis["photo"],
        "backend": analysis["backend"],
        "people_count": analysis["people_count"],
        "faces_count": analysis["faces_count"],
        "people": people,
        "faces": analysis["faces"],
        "analyzed_at": analysis["analyzed_at"],
    }


_BOX = {
    "type": "object",
    "required": ["x", "y", "w", "h"],
    "additionalProperties": False,
    "properties": {k: {"type": "integer", "minimum": 0} for k in ("x", "y", "w", "h")},
}
_CONFIDENCE = {"type": "number", "minimum": 0, "maximum": 1}
_OPTIONAL_INT = {"type": ["integer", "null"], "minimum": 0}
_PHOTO = {
    "type": "object",
    "required": ["blob", "container", "sha256", "width", "height"],
    "additionalProperties": False,
    "properties": {
        "blob": {"type": ["string", "null"]},
        "container": {"type": ["string", "null"]},
        "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
        "width": _OPTIONAL_INT,
        "height": _OPTIONAL_INT,
    },
}
_COLOR = {
    "type": ["object", "null"],
    "required": ["dominant_foreground", "dominant_background", "dominant_colors", "accent", "is_bw"],
    "additionalProperties": False,
    "properties": {
        "dominant_foreground": {"type": ["string", "null"]},
        "dominant_background": {"type": ["string", "null"]},
        "dominant_colors": {"type": "array", "items": {"type": "string"}},
        "accent": {"type": ["string", "null"], "pattern": "^[0-9A-F]{6}$"},
        "is_bw": {"type": "boolean"},
    },
}
_RESULT_PROPERTIES: dict[str, Any] = {
    "model_version": {"type": "string"},
    "tags": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name", "confidence"],
            "additionalProperties": False,
            "properties": {"name": {"type": "string", "minLength": 1}, "confidence": _CONFIDENCE},
        },
    },
    "caption": {"type": ["string", "null"]},
    "objects": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["name", "confidence", "box"],
            "additionalProperties": False,
            "properties": {"name": {"type": "string"}, "confidence": _CONFIDENCE, "box": _BOX},
        },
    },
    "faces": {
        "type": "array",
        "items": {"type": "object", "required": ["box"], "additionalProperties": False, "properties": {"box": _BOX}},
    },
    "faces_count": {"type": "integer", "minimum": 0},
    "people_count": {"type": "integer", "minimum": 0},
    "color": _COLOR,
    "quality": {
        "type": ["object", "null"],
        "required": ["brightness", "sharpness"],
        "additionalProperties": False,
        "properties": {
            "brightness": {"type": "number", "minimum": 0, "maximum": 1},
            "sharpness": {"type": "number", "minimum": 0},
        },
    },
    "motion": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    "fallback": {
        "type": ["object", "null"],
        "required": ["from", "reason"],
        "properties": {"from": {"type": "string"}, "reason": {"type": "string"}},
    },
    "stages_ms": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
    "cached": {"type": "boolean"},
}

# The `analysis` message: either a full result or, for a photo that could not be analysed, an `error`.
ANALYSIS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["photo", "backend", "analyzed_at", "duration_ms"],
    "additionalProperties": False,
    "properties": {
        "photo": _PHOTO,
        "backend": {"type": "string"},
        "analyzed_at": {"type": "string", "format": "date-time"},
        "duration_ms": {"type": "number", "minimum": 0},
        "error": {
            "type": "object",
            "required": ["code", "message", "kind"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "kind": {"type": "string"},
                "status": {"type": "integer"},
                "field": {"type": "string"},
            },
        },
        **_RESULT_PROPERTIES,
    },
    "if": {"required": ["error"]},
    "then": {"not": {"required": ["tags"]}},
    "else": {
        "required": [
            "model_version",
            "tags",
            "caption",
            "objects",
            "faces",
            "faces_count",
            "people_count",
            "color",
            "quality",
        ]
    },
}
