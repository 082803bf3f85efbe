"""One module process: spawn it, keep its output, stop it politely and then firmly.

The child runs in its own session (process group), so a stop or a crash takes
its own children with it and Ctrl-C in the terminal reaches only `central up`,
which then stops modules in order. Output lines go to the console prefixed with
the module name and, unprefixed, to `<state>/logs/<module>.log`, rotated like
Docker's json-file driver (max size, one older file kept as `<module>.log.1`) so a
chatty module cannot fill the disk over days of running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

log = logging.getLogger(__name__)

DEFAULT_GRACE_S = 10.0
STREAM_LIMIT = 2**16  # the longest output line kept (asyncio's default)
LOG_MAX_BYTES = 10 * 2**20  # per file; with the one older file at most about 20 MB per module


def docker_exit_code(returncode: int) -> int:
    """A process killed by signal N reports -N; docker (and edgeAgent) report 128 + N."""
    return returncode if returncode >= 0 else 128 - returncode


class ModuleProcess:
    """A started module process. Create with `await ModuleProcess.spawn(...)`."""

    log_max_bytes = LOG_MAX_BYTES

    def __init__(self, name: str, proc: asyncio.subprocess.Process, log_file: TextIO, console: TextIO | None):
        self.name = name
        self.pid = proc.pid
        self.started_at = time.monotonic()
        self._proc = proc
        self._log_file = log_file
        self._console = console
        self._pump = asyncio.create_task(self._copy_output(), name=f"output:{name}")

    @classmethod
    async def spawn(
        cls,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        console: TextIO | None,
        cwd: Path | None = None,
    ) -> ModuleProcess:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = log_path.open("a", encoding="utf-8", errors="replace")
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                env=dict(env),
                cwd=cwd,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                limit=STREAM_LIMIT,
            )
        except OSError:
            log_file.close()
            raise
        return cls(name, proc, log_file, console)

    async def _copy_output(self) -> None:
        """Copy output line by line until the pipe closes.

        A line over the stream limit must not end the copy: the pipe would fill
        and block the module on its next print.
        """
        assert self._proc.stdout is not None
        while True:
            try:
                line = await self._proc.stdout.readline()
            except ValueError:  # over STREAM_LIMIT; asyncio has already dropped it from the buffer
                line = f"[{self.name} wrote a line longer than {STREAM_LIMIT} bytes; it was dropped]\n".encode()
            if not line:
                return
            text = line.decode("utf-8", errors="replace").rstrip("\n")
            self._log_file.write(text + "\n")
            self._log_file.flush()
            if self._log_file.tell() >= self.log_max_bytes:
                self._rotate_log()
            if self._console is not None:
                self._console.write(f"{self.name} | {text}\n")
                self._console.flush()

    def _rotate_log(self) -> None:
        path = Path(self._log_file.name)
        self._log_file.close()
        path.replace(path.with_name(path.name + ".1"))
        self._log_file = path.open("a", encoding="utf-8", errors="replace")

    @property
    def running(self) -> bool:
        return self._proc.returncode is None

    async def wait(self) -> int:
        """Wait for the process to end; returns the docker-style exit code."""
        returncode = await self._proc.wait()
        self._signal_group(signal.SIGKILL)  # children the module left behind
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._pump, 5)
        self._log_file.close()
        return docker_exit_code(returncode)

    async def stop(self, grace_s: float = DEFAULT_GRACE_S) -> int:
        """SIGTERM the module's process group, SIGKILL it if it is still there after `grace_s`."""
        self._signal_group(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(self._proc.wait()), grace_s)
        except TimeoutError:
            log.warning("%s did not stop within %.0f s of SIGTERM; sending SIGKILL", self.name, grace_s)
            self._signal_group(signal.SIGKILL)
        return await self.wait()

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)
