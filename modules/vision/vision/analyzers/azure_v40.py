"""Image Analysis 4.0 through `azure-ai-vision-imageanalysis`, the maintained SDK.

4.0 has no faces and no colours; it finds people (with a confidence, many of
them low, hence `person_threshold`) and captions only in some regions. Those
fields stay empty in the result rather than being filled from elsewhere.
"""

from __future__ import annotations

from azure.ai.vision.imageanalysis import ImageAnalysisClient
from azure.ai.vision.imageanalysis.models import ImageAnalysisResult, VisualFeatures
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from vision.analyzers.base import AnalyzerConfig
from vision.analyzers.cloud import V40_LIMITS, CloudAnalyzer, CloudCaller, Upload, error_from_status, require_endpoint
from vision.errors import AnalysisError
from vision.result import DetectedObject, Findings, Tag

_FEATURES = {
    "tags": VisualFeatures.TAGS,
    "caption": VisualFeatures.CAPTION,
    "objects": VisualFeatures.OBJECTS,
    "people": VisualFeatures.PEOPLE,
}


def _classify(e: Exception) -> AnalysisError | None:
    if isinstance(e, HttpResponseError) and e.status_code is not None:
        inner = (e.error.innererror or {}) if e.error is not None else {}
        code = inner.get("code") or (e.error.code if e.error is not None else None)
        message = inner.get("message") or (e.error.message if e.error is not None else None) or e.reason or str(e)
        headers = e.response.headers if e.response is not None else None
        return error_from_status(e.status_code, code, message, headers)
    if isinstance(e, ServiceRequestError | ServiceResponseError):
        return AnalysisError("Unreachable", f"cannot reach Azure Image Analysis: {e}", kind="unavailable")
    return None


class AzureV40Analyzer(CloudAnalyzer[ImageAnalysisResult]):
    limits = V40_LIMITS
    _client: ImageAnalysisClient
    name = "azure-v4"

    def __init__(self, config: AnalyzerConfig) -> None:
        endpoint, key = require_endpoint(config, self.name)
        self.config = config
        self._client = ImageAnalysisClient(
            endpoint,
            AzureKeyCredential(key),
            retry_total=0,
            connection_timeout=config.request_timeout_s,
            read_timeout=config.request_timeout_s,
        )
        self.caller = CloudCaller("Azure Image Analysis 4.0", config.retry, _classify)

    def _send(self, payload: bytes) -> ImageAnalysisResult:
        features = [v for k, v in _FEATURES.items() if k in self.config.features] or [VisualFeatures.TAGS]
        return self._client.analyze(image_data=payload, visual_features=features)

    def _findings(self, r: ImageAnalysisResult, upload: Upload) -> Findings:
        t = self.config.thresholds
        sent_width = r.metadata.width if r.metadata else None
        objects = []
        for o in r.objects.list if r.objects else []:
            if o.tags and o.tags[0].confidence >= t.min_confidence:
                b = o.bounding_box
                objects.append(
                    DetectedObject(
                        o.tags[0].name, o.tags[0].confidence, upload.box(b.x, b.y, b.width, b.height, sent_width)
                    )
                )
        people = [p for p in (r.people.list if r.people else []) if p.confidence >= t.person_threshold]
        person_objects = sum(1 for o in objects if o.name == "person" and o.confidence >= t.person_threshold)
        return Findings(
            backend=self.name,
            model_version=r.model_version or "unknown",
            width=upload.width,
            height=upload.height,
            tags=[
                Tag(x.name, x.confidence) for x in (r.tags.list if r.tags else []) if x.confidence >= t.min_confidence
            ],
            caption=r.caption.text if r.caption else None,
            objects=objects,
            people_count=len(people) if r.people is not None else person_objects,
            quality=upload.quality(),
        )
