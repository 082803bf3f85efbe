"""Azurite's blob service for the local edge, standing in for Blob Storage on IoT Edge.

Started blob-only on the edge's bind address, port 10000, with its data under
`<state>/azurite` so photos survive a restart (REFERENCE section 6). The node
package is installed by `make setup` into the repository's `node_modules`.
`--skipApiVersionCheck` is needed because azure-storage-blob sends an API
version newer than Azurite 3.35 knows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

from central.agent.process import ModuleProcess
from central.portcheck import ensure_free, wait_listening

BLOB_PORT = 10000
ACCOUNT = "devstoreaccount1"
# Azurite's published development key (the same for every installation; not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
MAIN_JS = Path("node_modules/azurite/dist/src/blob/main.js")
REPO_ROOT = Path(__file__).resolve().parents[3]


class AzuriteError(RuntimeError):
    """Azurite could not be found or did not start."""


def connection_string(host: str, port: int = BLOB_PORT) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://{host}:{port}/{ACCOUNT};"
    )


def find_main_js(start: Path | None = None) -> Path:
    """Azurite's blob entry point in the nearest node_modules (cwd upwards, then this repository)."""
    here = (start or Path.cwd()).resolve()
    for base in (here, *here.parents, REPO_ROOT):
        if (base / MAIN_JS).is_file():
            return base / MAIN_JS
    raise AzuriteError(f"Azurite is not installed ({MAIN_JS} not found); run `make setup`")


def command(location: Path, host: str, port: int = BLOB_PORT) -> list[str]:
    node = shutil.which("node")
    if node is None:
        raise AzuriteError("node is not on PATH; Azurite needs Node.js 20")
    return [
        node, str(find_main_js()),
        "--location", str(location),
        "--blobHost", host, "--blobPort", str(port),
        "--skipApiVersionCheck", "--disableTelemetry", "--silent",
    ]  # fmt: skip


class Azurite:
    """A running Azurite blob service; `await Azurite.start(...)`, then `await stop()`."""

    def __init__(self, process: ModuleProcess, host: str, port: int):
        self.process = process
        self.host = host
        self.port = port

    @property
    def connection_string(self) -> str:
        return connection_string(self.host, self.port)

    @classmethod
    async def start(
        cls, location: Path, host: str, port: int = BLOB_PORT, log_path: Path | None = None,
        console: TextIO | None = None, timeout_s: float = 30.0,
    ) -> Azurite:  # fmt: skip
        ensure_free(host, port, "Azurite blob service")
        await asyncio.to_thread(location.mkdir, parents=True, exist_ok=True)
        log_path = log_path or location / "azurite.log"
        process = await ModuleProcess.spawn(
            "azurite", command(location, host, port), dict(os.environ), log_path, console
        )
        listening = False
        try:
            listening = await wait_listening(host, port, timeout_s, lambda: process.running)
        finally:
            if not listening:  # also when cancelled: it runs in its own session, so nothing else would end it
                await process.stop(grace_s=2)
        if not listening:
            raise AzuriteError(f"Azurite did not listen on {host}:{port} within {timeout_s:g} s; see {log_path}")
        return cls(process, host, port)

    async def stop(self, grace_s: float = 5.0) -> None:
        await self.process.stop(grace_s)


def create_containers(conn_str: str, names: Iterable[str]) -> None:
    """Create each container unless it exists (blocking; call through asyncio.to_thread)."""
    service = BlobServiceClient.from_connection_string(conn_str, retry_total=2)
    with service:
        for name in names:
            try:
                service.create_container(name)
            except ResourceExistsError:
                continue


async def ensure_containers(conn_str: str, names: Iterable[str]) -> None:
    await asyncio.to_thread(create_containers, conn_str, list(names))
