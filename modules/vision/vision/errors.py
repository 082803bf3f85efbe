"""Why a photo could not be analysed, in one exception the whole module shares.

Every failure (a corrupt image, a missing blob, a cloud 4xx, an unreachable
endpoint) becomes an `AnalysisError` inside, and is translated once, at the
pipeline boundary, into an `analysis` message with an `error` field. The `kind`
decides what happens next: the hybrid analyser falls back to the device only for
`auth`, `quota` and `unavailable`, because a bad image is bad everywhere.
"""

from __future__ import annotations

from typing import Any, Literal

ErrorKind = Literal["image", "input", "auth", "quota", "unavailable", "rejected", "internal"]

# Kinds that say the cloud is unusable right now, not that the photo is bad.
CLOUD_DOWN_KINDS: frozenset[str] = frozenset({"auth", "quota", "unavailable"})


class AnalysisError(Exception):
    """`code` is the service's own word where there is one (InvalidImageFormat, BlobNotFound, ...)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        kind: ErrorKind = "image",
        status: int | None = None,
        retry_after_s: float | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.kind = kind
        self.status = status
        self.retry_after_s = retry_after_s
        self.field = field

    @property
    def retryable(self) -> bool:
        """Worth repeating the same request after a pause (over quota or a passing server fault)."""
        return self.kind == "quota" or (self.kind == "unavailable" and self.status is not None)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message, "kind": self.kind}
        if self.status is not None:
            body["status"] = self.status
        if self.field is not None:
            body["field"] = self.field
        return body
