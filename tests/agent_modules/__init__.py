"""Tiny IoT Edge modules for the agent's end-to-end tests, run by `central up` as `python -m`."""

from __future__ import annotations

import subprocess


def terminate(process: subprocess.Popen[bytes] | subprocess.Popen[str], grace_s: float = 30) -> None:
    """SIGTERM a module started by hand; SIGKILL it if the SDK's shutdown stalls (a loaded machine)."""
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace_s)
