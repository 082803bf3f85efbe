"""Port checks for the local edge: fail early with one line naming the port."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable


class PortInUseError(RuntimeError):
    """A port the local edge needs is taken; the message names it."""

    def __init__(self, host: str, port: int, what: str) -> None:
        super().__init__(f"port {port} on {host} ({what}) is already in use")


def ensure_free(host: str, port: int, what: str) -> None:
    """Raise PortInUseError unless `port` can be bound on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise PortInUseError(host, port, what) from None


async def wait_listening(
    host: str, port: int, timeout_s: float, still_starting: Callable[[], bool] | None = None
) -> bool:
    """Poll until something accepts connections on host:port; False on timeout.

    `still_starting`, if given, is a callable returning False once the server
    process has died, which ends the wait early.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if still_starting is not None and not still_starting():
            return False
        try:
            _, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return True
    return False
