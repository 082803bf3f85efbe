"""The uploader against a real Azurite: order, metadata, announcements, and entries storage can never take."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from camera.spool import Spool
from camera.uploader import Uploader, open_storage

from tests.fixtures.azurite import AzuriteServer

pytestmark = pytest.mark.slow


def photo_meta(n: int, data: bytes) -> dict[str, Any]:
    return {
        "kind": "photo",
        "output": "photos",
        "container": "photos",
        "blob": f"dev/2026/11/25/{n:03d}.jpg",
        "content_type": "image/jpeg",
        "sha256": hashlib.sha256(data).hexdigest(),
        "device": "dev",
        "module": "camera",
        "captured_at": "2026-11-25T01:00:00Z",
        "correlation_id": f"c{n}",
        "settings": {"resolution": "64x48", "quality": 80, "hflip": False},
        "label": "porch",
    }


def run_uploader(uploader: Uploader, body: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        worker = asyncio.create_task(uploader.run())
        try:
            await body()
        finally:
            if worker.done():
                worker.result()  # the loop runs until cancelled: raise what ended it
                raise AssertionError("the upload loop ended on its own")
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    asyncio.run(main())


def fill(spool: Spool, count: int) -> list[str]:
    ids = []
    for n in range(count):
        data = bytes([n]) * 1000
        ids.append(spool.add(f"id{n}", data, ".jpg", photo_meta(n, data)).id)
    return ids


def test_entries_upload_in_order_with_metadata_and_a_working_url(azurite: AzuriteServer, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", 1 << 20)
    ids = fill(spool, 5)
    announced: list[tuple[str, dict[str, Any]]] = []

    async def announce(output: str, body: dict[str, Any]) -> None:
        announced.append((output, body))

    uploader = Uploader(spool, open_storage(azurite.connection_string), announce)

    async def body() -> None:
        last = await uploader.uploaded_announcement(ids[-1], 20)
        assert last is not None and last["url"]

    run_uploader(uploader, body)

    assert [b["blob"] for _, b in announced] == [f"dev/2026/11/25/{n:03d}.jpg" for n in range(5)]
    assert {o for o, _ in announced} == {"photos"} and spool.depth == 0
    blob = BlobServiceClient.from_connection_string(azurite.connection_string).get_blob_client(
        "photos", announced[2][1]["blob"]
    )
    properties = blob.get_blob_properties()
    assert properties.metadata == {
        "device": "dev", "module": "camera", "sha256": announced[2][1]["sha256"], "kind": "photo",
        "captured_at": "2026-11-25T01:00:00Z", "correlation_id": "c2",
        "resolution": "64x48", "quality": "80", "hflip": "false", "label": "porch",
    }  # fmt: skip
    assert properties.content_settings.content_type == "image/jpeg"
    assert blob.download_blob().readall() == bytes([2]) * 1000


def test_an_entry_whose_data_is_gone_is_set_aside_and_the_rest_go_on(azurite: AzuriteServer, tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", 1 << 20)
    ids = fill(spool, 3)
    spool.pending()[1].data.unlink()
    uploader = Uploader(spool, open_storage(azurite.connection_string), lambda output, body: asyncio.sleep(0))

    async def body() -> None:
        assert await uploader.uploaded_announcement(ids[2], 20) is not None

    run_uploader(uploader, body)

    assert spool.depth == 0 and spool.rejected == 1 and uploader.uploaded == 2
    assert (tmp_path / "spool" / "rejected" / f"000000000002-{ids[1]}.json").exists()


def test_callers_stop_waiting_as_soon_as_storage_fails(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", 1 << 20)
    (entry_id,) = fill(spool, 1)
    unreachable = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;"
    uploader = Uploader(spool, open_storage(unreachable), lambda output, body: asyncio.sleep(0))
    waited: list[float] = []

    async def body() -> None:
        start = time.monotonic()
        assert await uploader.uploaded_announcement(entry_id, 120) is None
        waited.append(time.monotonic() - start)

    run_uploader(uploader, body)

    assert waited[0] < 60  # answered at the first failure, long before the 120 s timeout
    assert not uploader.healthy and uploader.failed_attempts >= 1
    assert uploader.last_error and spool.depth == 1
