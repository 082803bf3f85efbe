"""Azurite as the agent starts it, and the shared `azurite` fixture, driven by azure-storage-blob."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil
import pytest
from azure.storage.blob import BlobServiceClient

from central.agent.azurite import BLOB_PORT, Azurite, ensure_containers
from central.portcheck import PortInUseError
from tests.fixtures.azurite import AzuriteServer
from tests.fixtures.network import free_loopback

pytestmark = pytest.mark.slow


def test_fixture_serves_blobs_in_precreated_containers(azurite: AzuriteServer) -> None:
    with BlobServiceClient.from_connection_string(azurite.connection_string) as service:
        assert {c.name for c in service.list_containers()} >= {"photos", "videos"}
        service.get_blob_client("photos", "a.jpg").upload_blob(b"\xff\xd8jpeg")
        assert service.get_blob_client("photos", "a.jpg").download_blob().readall() == b"\xff\xd8jpeg"


def test_agent_azurite_keeps_data_across_restarts_and_stops_cleanly(tmp_path: Path) -> None:
    host = free_loopback(BLOB_PORT)
    location = tmp_path / "azurite"

    async def run_once(upload: bool) -> tuple[bytes, int]:
        server = await Azurite.start(location, host, log_path=tmp_path / "azurite.log")
        try:
            await ensure_containers(server.connection_string, ["photos", "photos"])  # idempotent
            with BlobServiceClient.from_connection_string(server.connection_string) as service:
                blob = service.get_blob_client("photos", "kept.txt")
                if upload:
                    blob.upload_blob(b"still here")
                return blob.download_blob().readall(), server.process.pid
        finally:
            await server.stop()

    _, pid = asyncio.run(run_once(upload=True))
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    data, _ = asyncio.run(run_once(upload=False))
    assert data == b"still here"


def test_port_in_use_names_the_port(azurite: AzuriteServer, tmp_path: Path) -> None:
    with pytest.raises(PortInUseError, match=f"port {BLOB_PORT} on {azurite.host}"):
        asyncio.run(Azurite.start(tmp_path / "other", azurite.host))


def test_cancelled_start_leaves_no_azurite_behind(tmp_path: Path) -> None:
    location = tmp_path / "cancelled"

    def started() -> list[psutil.Process]:
        return [p for p in psutil.Process().children() if str(location) in " ".join(p.cmdline())]

    async def scenario() -> list[psutil.Process]:
        task = asyncio.create_task(Azurite.start(location, free_loopback(BLOB_PORT)))
        while not (spawned := started()):
            assert not task.done(), "Azurite.start ended before its process was seen"
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return spawned

    spawned = asyncio.run(scenario())
    assert not [p for p in spawned if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
