"""Processes a killed `central up` left behind, found and ended by the next one.

Modules and Azurite run in their own sessions so that Ctrl-C reaches only
`central up`, which stops them in order. If `central up` itself is SIGKILLed,
they live on. Every process it starts is recorded in `<state>/processes.json`
with its start time (so a recycled pid is never mistaken for it), and the next
`central up` ends whatever of that list still runs before starting anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Mapping
from pathlib import Path

import psutil

PROCESSES_FILE = "processes.json"
WAIT_S = 10.0


def started_at(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.NoSuchProcess:
        return None


def record(state: Path, pids: Mapping[str, int]) -> None:
    """Remember `pids` (name -> pid) with their start times, replacing the previous record."""
    entries = {name: [pid, started_at(pid)] for name, pid in pids.items()}
    tmp = state / (PROCESSES_FILE + ".tmp")
    tmp.write_text(json.dumps(entries), encoding="utf-8")
    tmp.replace(state / PROCESSES_FILE)


def reap(state: Path) -> list[str]:
    """SIGKILL the process group of every recorded process that still runs; their names."""
    try:
        entries = json.loads((state / PROCESSES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    ended: dict[str, psutil.Process] = {}
    for name, (pid, created) in entries.items():
        if created is not None and started_at(pid) == created:
            with contextlib.suppress(ProcessLookupError, PermissionError, psutil.NoSuchProcess):
                process = psutil.Process(pid)
                os.killpg(pid, signal.SIGKILL)
                ended[name] = process
    psutil.wait_procs(list(ended.values()), timeout=WAIT_S)  # their ports are free once they are gone
    (state / PROCESSES_FILE).unlink(missing_ok=True)
    return sorted(ended)
