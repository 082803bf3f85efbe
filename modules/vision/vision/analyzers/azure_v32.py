"""Azure Computer Vision v3.2 through `azure-cognitiveservices-vision-computervision`.

The SDK the design names. It is deprecated (no maintenance after November 2024)
but still talks to v3.2, the only version with faces and colours; `azure-v4`
is the maintained path. Requests go through `CloudCaller`, so retries, quota and
a refused key behave the same as for 4.0.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import requests
from azure.cognitiveservices.vision.computervision import ComputerVisionClient
from azure.cognitiveservices.vision.computervision.models import (
    ComputerVisionErrorResponseException,
    ImageAnalysis,
    VisualFeatureTypes,
)
from msrest.authentication import CognitiveServicesCredentials
from msrest.exceptions import ClientRequestError

from vision.analyzers.base import AnalyzerConfig
from vision.analyzers.cloud import V32_LIMITS, CloudAnalyzer, CloudCaller, Upload, error_from_status, require_endpoint
from vision.errors import AnalysisError
from vision.result import Colors, DetectedObject, Findings, Tag

_FEATURES = {
    "tags": VisualFeatureTypes.tags,
    "caption": VisualFeatureTypes.description,
    "objects": VisualFeatureTypes.objects,
    "people": VisualFeatureTypes.objects,
    "faces": VisualFeatureTypes.faces,
    "color": VisualFeatureTypes.color,
}


class _BodylessError(Exception):
    """An error answer without the JSON error body the SDK needs to build its own exception."""

    def __init__(self, status: int, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.headers = headers


def _check_error_body(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """A requests response hook: the SDK crashes (TypeError) on an error with no JSON body, e.g. a
    gateway's bare 503; raise something classifiable before it gets there."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        raise _BodylessError(response.status_code, response.headers)


def _classify(e: Exception) -> AnalysisError | None:
    if isinstance(e, _BodylessError):
        return error_from_status(e.status, None, f"HTTP {e.status} without an error body", e.headers)
    if isinstance(e, ComputerVisionErrorResponseException):
        body = e.error.error if e.error is not None else None
        inner = getattr(body, "innererror", None)
        code = getattr(inner, "code", None) or getattr(body, "code", None)
        message = getattr(inner, "message", None) or getattr(body, "message", None) or str(e)
        return error_from_status(e.response.status_code, code, message, e.response.headers)
    if isinstance(e, ClientRequestError):
        return AnalysisError("Unreachable", f"cannot reach Azure Computer Vision: {e}", kind="unavailable")
    return None


class AzureV32Analyzer(CloudAnalyzer[ImageAnalysis]):
    limits = V32_LIMITS
    _client: ComputerVisionClient
    name = "azure"

    def __init__(self, config: AnalyzerConfig) -> None:
        endpoint, key = require_endpoint(config, self.name)
        self.config = config
        self._client = ComputerVisionClient(endpoint, CognitiveServicesCredentials(key))
        self._client.config.retry_policy.retries = 0
        self._client.config.retry_policy.policy.status_forcelist = []
        self._client.config.connection.timeout = config.request_timeout_s
        self._client.config.hooks.append(_check_error_body)
        self.caller = CloudCaller("Azure Computer Vision v3.2", config.retry, _classify)

    def _send(self, payload: bytes) -> ImageAnalysis:
        features = sorted({_FEATURES[f] for f in self.config.features if f in _FEATURES}) or [VisualFeatureTypes.tags]
        return self._client.analyze_image_in_stream(
            io.BytesIO(payload), visual_features=features, model_version="latest"
        )

    def _findings(self, r: ImageAnalysis, upload: Upload) -> Findings:
        t = self.config.thresholds
        sent_width = r.metadata.width if r.metadata else None
        objects = [
            DetectedObject(
                o.object_property,
                o.confidence,
                upload.box(o.rectangle.x, o.rectangle.y, o.rectangle.w, o.rectangle.h, sent_width),
            )
            for o in r.objects or []
            if o.confidence >= t.min_confidence
        ]
        captions = r.description.captions if r.description and r.description.captions else []
        c = r.color
        return Findings(
            backend=self.name,
            model_version=r.model_version or "unknown",
            width=upload.width,
            height=upload.height,
            tags=[Tag(x.name, x.confidence) for x in r.tags or [] if x.confidence >= t.min_confidence],
            caption=captions[0].text if captions else None,
            objects=objects,
            faces=[
                upload.box(
                    f.face_rectangle.left,
                    f.face_rectangle.top,
                    f.face_rectangle.width,
                    f.face_rectangle.height,
                    sent_width,
                )
                for f in r.faces or []
            ],
            people_count=sum(1 for o in objects if o.name == "person" and o.confidence >= t.person_threshold),
            color=None
            if c is None
            else Colors(
                c.dominant_color_foreground,
                c.dominant_color_background,
                tuple(c.dominant_colors or ()),
                c.accent_color,
                bool(c.is_bw_img),
            ),
            quality=upload.quality(),
        )
