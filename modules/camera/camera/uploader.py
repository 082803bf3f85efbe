"""Uploads spooled captures to Blob Storage, in capture order, then announces them.

One worker takes the oldest spool entry, uploads it, sends its announcement
(blob reference, metadata and a short-lived read URL, never the bytes) and only
then removes it from the spool. If any step fails it retries the same entry
with back-off: a later photo never overtakes an earlier one, and an entry is
removed only once it is both stored and announced. The upload is idempotent
(same blob name, overwrite), so a retry after a half-finished attempt is safe.
The storage client's own retries are off: this loop owns retrying, so a
storage outage shows in `get_status` at once instead of inside one long call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob import BlobServiceClient, ContentSettings

from camera.spool import Spool, SpoolEntry
from edgekit import Backoff
from edgekit.storage import blob_service, read_sas_url

log = logging.getLogger(__name__)

Announce = Callable[[str, dict[str, Any]], Awaitable[None]]
SAS_MINUTES = 15
# Answers that will not change on retry; 403 (wrong key) and 404 (container deleted) may be fixed, so they retry.
PERMANENT_STATUSES = frozenset({400, 411, 413, 414, 416})
RECENT = 256  # announcements kept for callers that ask just after the upload finished


def open_storage(connection_string: str) -> BlobServiceClient:
    """A client whose retries are left to the uploader, with timeouts short enough to notice an outage."""
    return blob_service(connection_string, retry_total=0, connection_timeout=5, read_timeout=60)


def blob_metadata(meta: dict[str, Any]) -> dict[str, str]:
    """Blob metadata (ASCII strings): who took it, its digest, and how it was taken."""
    fields = {"device": meta["device"], "module": meta["module"], "sha256": meta["sha256"]}
    fields |= {"kind": meta["kind"], "captured_at": meta["captured_at"], "correlation_id": meta["correlation_id"]}
    fields |= {
        name: str(value).lower() if isinstance(value, bool) else str(value) for name, value in meta["settings"].items()
    }
    if meta.get("label"):
        fields["label"] = meta["label"]
    return fields


def _permanent(error: Exception) -> bool:
    if isinstance(error, FileNotFoundError):
        return True
    return isinstance(error, HttpResponseError) and error.status_code in PERMANENT_STATUSES


class Uploader:
    def __init__(self, spool: Spool, storage: BlobServiceClient | None, announce: Announce) -> None:
        self.spool = spool
        self.storage = storage
        self.announce = announce
        self.backoff = Backoff(initial_s=0.25, maximum_s=5.0)
        self.failed_attempts = 0
        self.uploaded = 0
        self.last_error: str | None = None
        self._failing = False
        self._wake = asyncio.Event()
        self._waiters: dict[str, asyncio.Future[dict[str, Any] | None]] = {}
        self._callbacks: dict[str, Callable[[dict[str, Any]], None]] = {}
        self._recent: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._containers: set[str] = set()

    @property
    def healthy(self) -> bool:
        """False while the oldest entry is failing: callers then do not wait for uploads."""
        return self.storage is not None and not self._failing

    def wake(self) -> None:
        self._wake.set()

    def on_uploaded(self, entry_id: str, callback: Callable[[dict[str, Any]], None]) -> None:
        """Call `callback(announcement)` when `entry_id` has been uploaded and announced."""
        self._callbacks[entry_id] = callback

    def forget(self, entry_id: str) -> None:
        """Drop the callback of an entry that never reached the spool, so failed captures do not pile up here."""
        self._callbacks.pop(entry_id, None)

    async def uploaded_announcement(self, entry_id: str, timeout_s: float) -> dict[str, Any] | None:
        """The announcement of `entry_id` once it is uploaded; None after `timeout_s` or as soon as an upload fails."""
        if entry_id in self._recent:
            return self._recent[entry_id]
        if timeout_s <= 0:
            return None
        future = self._waiters.setdefault(entry_id, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            return None  # the future stays registered; `_deliver` removes it when the upload happens

    async def run(self) -> None:
        """Work through the spool until cancelled."""
        if self.storage is None:
            log.error("STORAGE_CONNECTION_STRING is not set: captures stay in the spool until it is")
            return
        attempt = 0
        while True:
            entries = self.spool.pending()
            if not entries:
                self._wake.clear()
                await self._wake.wait()
                continue
            try:
                await self._deliver(entries[0])
            except Exception as e:
                if _permanent(e):
                    await self._set_aside(entries[0], e)
                    continue
                attempt += 1
                self._note_failure(entries[0], e)
                await asyncio.sleep(self.backoff.delay(attempt - 1))
                continue
            attempt = 0
            self._failing = False

    async def _deliver(self, entry: SpoolEntry) -> None:
        await asyncio.to_thread(self._upload, entry)
        assert self.storage is not None
        announcement = dict(
            entry.meta, url=read_sas_url(self.storage, entry.meta["container"], entry.meta["blob"], SAS_MINUTES)
        )
        await self.announce(entry.meta["output"], announcement)
        await asyncio.to_thread(self.spool.remove, entry)
        self.uploaded += 1
        self._recent[entry.id] = announcement
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        callback = self._callbacks.pop(entry.id, None)
        if callback is not None:
            callback(announcement)
        waiter = self._waiters.pop(entry.id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(announcement)
        log.info("uploaded %s/%s (%d bytes)", entry.meta["container"], entry.meta["blob"], entry.size)

    def _upload(self, entry: SpoolEntry) -> None:
        assert self.storage is not None
        container = entry.meta["container"]
        if container not in self._containers:
            with contextlib.suppress(ResourceExistsError):
                self.storage.create_container(container)
            self._containers.add(container)
        blob = self.storage.get_blob_client(container, entry.meta["blob"])
        with entry.data.open("rb") as data:
            blob.upload_blob(
                data,
                length=entry.size,
                overwrite=True,
                metadata=blob_metadata(entry.meta),
                content_settings=ContentSettings(content_type=entry.meta["content_type"]),
            )

    async def _set_aside(self, entry: SpoolEntry, error: Exception) -> None:
        log.error("storage can never take %s (%s); moved to the spool's rejected/", entry.data.name, error)
        await asyncio.to_thread(self.spool.set_aside, entry, f"{type(error).__name__}: {error}")  # it fsyncs
        self._callbacks.pop(entry.id, None)
        waiter = self._waiters.pop(entry.id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _note_failure(self, entry: SpoolEntry, error: Exception) -> None:
        self.failed_attempts += 1
        self.last_error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        for waiter in self._waiters.values():  # storage trouble: callers answer now rather than at their timeout
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()
        if not self._failing:
            log.warning("upload of %s failed (%s); retrying with back-off", entry.meta["blob"], self.last_error)
        self._failing = True
