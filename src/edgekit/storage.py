"""Blob Storage access shared by the modules that write and read photos.

One connection string serves Azurite (locally), the Blob Storage on IoT Edge
module and an Azure account. Read URLs are short-lived, blob-scoped SAS when the
account key is known; otherwise there is no URL and readers use the connection string.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.storage.blob import BlobSasPermissions, BlobServiceClient, generate_blob_sas


def blob_service(connection_string: str, **options: Any) -> BlobServiceClient:
    """A client for `connection_string`; `options` are the SDK's (retries, timeouts).

    `STORAGE_API_VERSION` pins the Blob service version: the Blob Storage on IoT Edge module
    answers only older versions than the SDK sends by default.
    """
    api_version = os.environ.get("STORAGE_API_VERSION", "").strip()
    if api_version:
        options.setdefault("api_version", api_version)
    return BlobServiceClient.from_connection_string(connection_string, **options)


def read_sas_url(service: BlobServiceClient, container: str, blob: str, minutes: int = 10) -> str | None:
    """A read-only URL for one blob, valid for `minutes`; None when no account key is known."""
    key = getattr(service.credential, "account_key", None)
    if not key:
        return None
    token = generate_blob_sas(
        account_name=service.account_name,
        container_name=container,
        blob_name=blob,
        account_key=key,
        permission=BlobSasPermissions(read=True),
        expiry=datetime.now(UTC) + timedelta(minutes=minutes),
    )
    return f"{service.get_blob_client(container, blob).url}?{token}"
