"""The rules both Azure analysers share: retries, Retry-After, and a bad key.

- 429 and 503 (and other 5xx) are retried after the server's Retry-After, or
  with back-off when it gives none, up to `max_attempts`; a Retry-After longer
  than `max_wait_s` means over quota, and the error goes to the caller (the
  hybrid analyser falls back) instead of blocking the pipeline for minutes.
- An unreachable endpoint is not retried here: the hybrid circuit breaker and
  at-least-once redelivery decide when to try again.
- 401/403 is logged once and then answered from memory for `auth_hold_s`, so a
  wrong key is neither retried forever nor billed for on every photo.
The SDKs' own retry policies are switched off so these rules are the only ones.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import abstractmethod
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Generic, Protocol, TypeVar

import cv2

from edgekit import Backoff
from vision.analyzers.base import Analyzer, AnalyzerConfig, RetryRules, timed
from vision.errors import AnalysisError
from vision.imaging import UploadLimits, decode, measure_quality, prepare_upload
from vision.result import Box, Findings, PhotoRef, Quality

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

# Image Analysis v3.2: JPEG, PNG, GIF or BMP, under 4 MB, larger than 50x50, smaller than 16000x16000.
V32_LIMITS = UploadLimits(
    max_bytes=4 * 1024 * 1024, min_side=50, max_side=16000, formats=frozenset({"jpeg", "png", "gif", "bmp"})
)
# Image Analysis 4.0 also reads WEBP, ICO and TIFF, up to 20 MB.
V40_LIMITS = UploadLimits(
    max_bytes=20 * 1024 * 1024,
    min_side=50,
    max_side=16000,
    formats=frozenset({"jpeg", "png", "gif", "bmp", "webp", "ico", "tiff"}),
)


def require_endpoint(config: AnalyzerConfig, backend: str) -> tuple[str, str]:
    if not config.endpoint or not config.key:
        raise ValueError(f"vision backend {backend!r} needs AZURE_VISION_ENDPOINT and AZURE_VISION_KEY")
    return config.endpoint.rstrip("/"), config.key


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_from_status(status: int, code: str | None, message: str, headers: Mapping[str, str] | None) -> AnalysisError:
    """Classify a service answer by status; `code` is the inner error code when the body had one."""
    retry_after = parse_retry_after((headers or {}).get("Retry-After"))
    if status in (401, 403):
        return AnalysisError(code or "Unauthorized", message, kind="auth", status=status)
    if status == 429:
        return AnalysisError(code or "TooManyRequests", message, kind="quota", status=status, retry_after_s=retry_after)
    if status >= 500:
        return AnalysisError(
            code or "ServiceUnavailable", message, kind="unavailable", status=status, retry_after_s=retry_after
        )
    kind = (
        "image" if code and code.startswith(("InvalidImage", "NotSupportedImage", "UnsupportedMedia")) else "rejected"
    )
    return AnalysisError(code or f"HTTP{status}", message, kind=kind, status=status)


class CloudCaller:
    """Sends one request under the shared rules; `classify` maps an SDK exception to an `AnalysisError`."""

    def __init__(
        self,
        service: str,
        rules: RetryRules,
        classify: Callable[[Exception], AnalysisError | None],
        auth_hold_s: float = 600.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.service = service
        self.rules = rules
        self._classify = classify
        self._backoff = Backoff(initial_s=rules.backoff_initial_s, maximum_s=max(rules.max_wait_s, 0.1))
        self._auth_hold_s = auth_hold_s
        self._sleep = sleep
        self._auth_error: AnalysisError | None = None
        self._auth_until = 0.0
        self._lock = threading.Lock()
        self.calls = 0

    @property
    def auth_failed(self) -> bool:
        with self._lock:
            return self._auth_error is not None and time.monotonic() < self._auth_until

    def call(self, send: Callable[[], T]) -> T:
        for attempt in range(self.rules.max_attempts):
            self._raise_if_auth_held()
            try:
                self.calls += 1
                return send()
            except Exception as e:
                error = self._classify(e)
                if error is None:
                    raise
            if error.kind == "auth":
                self._hold_auth(error)
                raise error
            delay = error.retry_after_s if error.retry_after_s is not None else self._backoff.delay(attempt)
            if not error.retryable or attempt + 1 >= self.rules.max_attempts or delay > self.rules.max_wait_s:
                raise error
            log.warning("%s answered %s; retrying in %.1f s", self.service, error.code, delay)
            self._sleep(delay)
        raise AssertionError("unreachable: max_attempts is at least 1")

    def _raise_if_auth_held(self) -> None:
        with self._lock:
            held = self._auth_error if time.monotonic() < self._auth_until else None
        if held is not None:
            raise AnalysisError(
                held.code,
                f"{held.message} (not retried until the key changes or the hold ends)",
                kind="auth",
                status=held.status,
            )

    def _hold_auth(self, error: AnalysisError) -> None:
        with self._lock:
            first = self._auth_error is None
            self._auth_error, self._auth_until = error, time.monotonic() + self._auth_hold_s
        if first:
            log.error(
                "%s refused the key (HTTP %s %s): check AZURE_VISION_KEY and AZURE_VISION_ENDPOINT; "
                "no further calls for %.0f s",
                self.service,
                error.status,
                error.code,
                self._auth_hold_s,
            )


class Upload:
    """An image made ready for a service: the bytes to send and how to map its boxes back."""

    def __init__(self, data: bytes, limits: UploadLimits) -> None:
        self.image = decode(data)
        self.height, self.width = self.image.shape[:2]
        self.payload = prepare_upload(data, self.image, limits)
        self.resized = self.payload is not data

    def box(self, x: float, y: float, w: float, h: float, sent_width: int | None) -> Box:
        """A box in the original photo's pixels from one in the pixels the service saw."""
        scale = self.width / sent_width if self.resized and sent_width else 1.0
        return Box(*(max(0, round(v * scale)) for v in (x, y, w, h)))

    def quality(self) -> Quality:
        return measure_quality(cv2.cvtColor(self.image, cv2.COLOR_BGR2GRAY))


class _Client(Protocol):
    def close(self) -> None: ...


class CloudAnalyzer(Analyzer, Generic[R]):
    """An Azure analyser: fit the image to the service's `limits`, send it through `caller`, read the answer.

    Both API versions time the same stages and report the same status, so the
    pipeline and the benchmark compare them like for like; a subclass only knows
    its SDK's request (`_send`) and answer (`_findings`).
    """

    limits: UploadLimits
    caller: CloudCaller
    _client: _Client

    def analyze(self, data: bytes, photo: PhotoRef) -> Findings:
        stages: dict[str, float] = {}
        upload = timed(stages, "prepare", lambda: Upload(data, self.limits))
        result = timed(stages, "request", lambda: self.caller.call(lambda: self._send(upload.payload)))
        findings = self._findings(result, upload)
        findings.stages_ms = stages
        return findings

    @abstractmethod
    def _send(self, payload: bytes) -> R: ...

    @abstractmethod
    def _findings(self, result: R, upload: Upload) -> Findings: ...

    def status(self) -> dict[str, object]:
        return {"calls": self.caller.calls, "auth_failed": self.caller.auth_failed}

    def close(self) -> None:
        self._client.close()
