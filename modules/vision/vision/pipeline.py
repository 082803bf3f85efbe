"""From a `photos` message to an `analysis` body: cache, download, analyse, never raise.

Every photo gets exactly one answer. A result (fresh or from the cache) or, when
something failed (a message without a blob, a missing blob, bytes that are not
an image, a cloud that refused), a body with an `error` field: the failure is
reported where the cloud reads results, never dropped or left to crash the
module. The pipeline is synchronous; the module runs it in a worker thread.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from edgekit import MissingBackendError
from edgekit.validation import InvalidInput, Schema
from vision.analyzers import create_analyzer
from vision.analyzers.base import Analyzer, AnalyzerConfig
from vision.blobs import BlobReader, redact
from vision.cache import ResultCache
from vision.errors import AnalysisError
from vision.result import PhotoRef, analysis_body, error_body
from vision.settings import VisionEnv, analyzer_config

log = logging.getLogger(__name__)

_SHA256 = {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}
_PHOTO_FIELDS: dict[str, Any] = {
    "blob": {"type": "string", "minLength": 1, "maxLength": 1024},
    "container": {"type": "string", "minLength": 3, "maxLength": 63},
    "url": {"type": ["string", "null"], "pattern": "^https?://"},
    "sha256": _SHA256,
}
# The camera's `photos` message: extra fields (time, size, content type, ...) are allowed and ignored.
PHOTO_MESSAGE = Schema(
    {
        "type": "object",
        "properties": {
            **_PHOTO_FIELDS,
            "width": {"type": "integer", "minimum": 1},
            "height": {"type": "integer", "minimum": 1},
        },
    }
)


def parse_photo(body: Any) -> PhotoRef:
    """A `PhotoRef` from a decoded message body, or `InvalidInput` naming the field."""
    PHOTO_MESSAGE.check(body)
    if "blob" not in body and "url" not in body:
        raise InvalidInput("blob", "is required (or url)")
    return PhotoRef(
        blob=body.get("blob"),
        container=body.get("container"),
        url=body.get("url"),
        sha256=body["sha256"].lower() if "sha256" in body else None,
        width=body.get("width"),
        height=body.get("height"),
    )


def decode_message(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInput("", f"the message body is not JSON: {e}") from e


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Stats:
    analyzed: int = 0
    cache_hits: int = 0
    failures: int = 0
    fallbacks: int = 0
    detections: int = 0


class VisionPipeline:
    def __init__(self, env: VisionEnv, cache: ResultCache) -> None:
        self.env = env
        self.cache = cache
        self.stats = Stats()
        self.blobs = BlobReader(env.storage_connection_string)
        self.last_error: dict[str, Any] | None = None
        self.backend_error: str | None = None
        self._config = AnalyzerConfig()
        self._backend = "local"
        self._analyzers: dict[str, Analyzer] = {}

    # -- configuration ------------------------------------------------------------
    def configure(self, values: dict[str, Any]) -> None:
        """Apply effective settings; a backend that cannot start leaves the previous one in force."""
        config = analyzer_config(values, self.env)
        backend = values["backend"]
        try:
            analyzer = create_analyzer(backend, config)
        except (ValueError, MissingBackendError) as e:
            self.backend_error = str(e)
            log.error("cannot use vision backend %s: %s; keeping %s", backend, e, self._backend)
            return
        for old in self._analyzers.values():
            old.close()
        self._config, self._backend, self._analyzers = config, backend, {backend: analyzer}
        self.backend_error = None
        self.blobs.default_container = values.get("photos_container", self.blobs.default_container)
        self.cache.max_entries = values.get("cache_size", self.cache.max_entries)
        log.info("vision backend %s, features %s", backend, ", ".join(sorted(config.features)))

    @property
    def backend(self) -> str:
        return self._backend

    def analyzer(self, backend: str | None = None) -> Analyzer:
        """The active analyser, or (for a direct method) another backend with the same settings."""
        name = backend or self._backend
        if name not in self._analyzers:
            self._analyzers[name] = create_analyzer(name, self._config)
        return self._analyzers[name]

    def profile(self, backend: str) -> str:
        """What makes two analyses of one photo the same: the backend and the settings that shape its result."""
        config = asdict(self._config)
        config.pop("key")
        digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=sorted).encode()).hexdigest()[:12]
        return f"{backend}:{digest}"

    # -- analysis -----------------------------------------------------------------
    def handle_message(self, data: bytes | str) -> dict[str, Any]:
        """The `analysis` body for one `photos` message."""
        try:
            photo = parse_photo(decode_message(data))
        except InvalidInput as e:
            error = AnalysisError("InvalidMessage", e.message, kind="input", field=e.field)
            return self._failed(PhotoRef(), None, self._backend, error, time.perf_counter(), _now())
        return self.process(photo)

    def process(self, photo: PhotoRef, backend: str | None = None) -> dict[str, Any]:
        started, analyzed_at = time.perf_counter(), _now()
        name = backend or self._backend
        sha256 = photo.sha256
        try:
            analyzer = self.analyzer(name)
        except (ValueError, MissingBackendError) as e:  # only here: a ValueError from analysing is a bug, not this
            error = AnalysisError("BackendUnavailable", str(e), kind="input", field="backend")
            return self._failed(photo, sha256, name, error, started, analyzed_at)
        try:
            if sha256 and (hit := self._cached(photo, sha256, name)) is not None:
                return hit  # a redelivery: not downloaded, not analysed, not billed
            data, sha256 = self._fetch(photo)
            if photo.sha256 is None and (hit := self._cached(photo, sha256, name)) is not None:
                return hit
            findings = analyzer.analyze(data, photo)
        except AnalysisError as e:
            return self._failed(photo, sha256, name, e, started, analyzed_at)
        except Exception as e:
            log.exception("analysing %s failed", photo.blob)
            # The text goes upstream in the analysis message: an SDK error may quote the SAS URL.
            error = AnalysisError("InternalError", redact(f"{type(e).__name__}: {e}"), kind="internal")
            return self._failed(photo, sha256, name, error, started, analyzed_at)
        body = analysis_body(photo, sha256, findings, analyzed_at, (time.perf_counter() - started) * 1000)
        self._count(body)
        if findings.fallback is None:  # a fallback result is not cached: the cloud may answer next time
            self.cache.put(self.cache.key(sha256, self.profile(name)), body)
        return body

    def _cached(self, photo: PhotoRef, sha256: str, backend: str) -> dict[str, Any] | None:
        """The stored result for these bytes, naming this message's blob (equal bytes may sit in two blobs)."""
        hit = self.cache.get(self.cache.key(sha256, self.profile(backend)))
        if hit is None:
            return None
        self.stats.cache_hits += 1
        return {**hit, "photo": {**hit["photo"], "blob": photo.blob, "container": photo.container}, "cached": True}

    def _fetch(self, photo: PhotoRef) -> tuple[bytes, str]:
        """The blob's bytes and their sha256, checked against the one the message gave."""
        data = self.blobs.read(photo)
        actual = hashlib.sha256(data).hexdigest()
        if photo.sha256 and actual != photo.sha256:
            raise AnalysisError("ChecksumMismatch", f"the blob's sha256 is {actual}", kind="input", field="sha256")
        return data, actual

    def _count(self, body: dict[str, Any]) -> None:
        self.stats.analyzed += 1
        if body["fallback"] is not None:
            self.stats.fallbacks += 1
        if body["people_count"] or body["faces_count"]:
            self.stats.detections += 1

    def _failed(
        self, photo: PhotoRef, sha256: str | None, backend: str, error: AnalysisError, started: float, analyzed_at: str
    ) -> dict[str, Any]:
        self.stats.failures += 1
        self.last_error = {"code": error.code, "message": error.message, "at": analyzed_at}
        log.warning("photo %s not analysed: %s", photo.blob or "(none)", error)
        return error_body(photo, sha256, backend, error, analyzed_at, (time.perf_counter() - started) * 1000)

    def reported(self) -> dict[str, Any]:
        """The twin's reported view: active backend, counts, the last failure and the analyser's state."""
        active = self._analyzers.get(self._backend)
        return {
            "active_backend": self._backend,
            "backend_error": self.backend_error,
            "stats": asdict(self.stats),
            "last_error": self.last_error,
            "analyzer": active.status() if active is not None else None,
            "cache_entries": len(self.cache),
        }

    def close(self) -> None:
        for analyzer in self._analyzers.values():
            analyzer.close()
        self.blobs.close()
        self.cache.close()
