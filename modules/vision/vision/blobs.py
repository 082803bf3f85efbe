"""Fetching a photo from Blob Storage: by SAS URL when the sender gave one, else by connection string.

A SAS URL needs no account key on this module (the camera signs a short-lived,
read-only URL); the connection string is the fallback for storage without keys
in URLs. Storage failures become `AnalysisError`s with the storage's own words,
so a missing blob turns into an `analysis` message with an error, not a crash.
Retries are short (the SDK's default waits 15 s and more per retry, which would
stall every photo behind one outage), and error text never carries a SAS token.
"""

from __future__ import annotations

import re

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.storage.blob import BlobClient

from edgekit.storage import blob_service
from vision.errors import AnalysisError
from vision.result import PhotoRef

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_RETRY = {"retry_total": 1, "initial_backoff": 0.5, "increment_base": 2, "random_jitter_range": 0.5}
_QUERY = re.compile(r"\?[^\s'\"]*")


def redact(text: str) -> str:
    """`text` with every URL query string (where a SAS signature lives) replaced."""
    return _QUERY.sub("?<redacted>", text)


class BlobReader:
    def __init__(self, connection_string: str | None, default_container: str = "photos") -> None:
        self.default_container = default_container
        self._service = blob_service(connection_string, **_RETRY) if connection_string else None

    def _client(self, photo: PhotoRef) -> BlobClient:
        if photo.url:
            return BlobClient.from_blob_url(photo.url, **_RETRY)
        if photo.blob and self._service is not None:
            return self._service.get_blob_client(photo.container or self.default_container, photo.blob)
        if photo.blob:
            raise AnalysisError(
                "NoStorage",
                "the message has no url and STORAGE_CONNECTION_STRING is not set",
                kind="input",
                field="url",
            )
        raise AnalysisError("NoBlob", "the message names neither a blob nor a url", kind="input", field="blob")

    def read(self, photo: PhotoRef, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
        name = photo.blob or "(url)"
        # A client from a URL has its own connection pool, closed here; one from the service shares the
        # service's, and closing it leaves that open.
        with self._client(photo) as client:
            return self._download(client, name, max_bytes)

    @staticmethod
    def _download(client: BlobClient, name: str, max_bytes: int) -> bytes:
        try:
            downloader = client.download_blob(max_concurrency=1)
            if downloader.size > max_bytes:
                raise AnalysisError(
                    "BlobTooLarge", f"{downloader.size} bytes is over the {max_bytes} limit", kind="input"
                )
            return downloader.readall()
        except ResourceNotFoundError as e:
            raise AnalysisError("BlobNotFound", f"blob {name} does not exist", kind="input", status=404) from e
        except ClientAuthenticationError as e:
            message = "storage refused the credentials (an expired SAS?)"
            raise AnalysisError("BlobAccessDenied", message, kind="input", status=e.status_code) from e
        except HttpResponseError as e:
            code = e.error_code or "StorageError"
            raise AnalysisError(code, redact(e.reason or str(e)), kind="input", status=e.status_code) from e
        except (ServiceRequestError, ServiceResponseError) as e:
            raise AnalysisError(
                "StorageUnavailable", f"cannot reach storage: {redact(str(e))}", kind="unavailable"
            ) from e

    def close(self) -> None:
        if self._service is not None:
            self._service.close()
