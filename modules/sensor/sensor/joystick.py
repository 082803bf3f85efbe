"""Joystick presses injected from outside, for boards without a physical stick.

`SENSE_JOYSTICK_FIFO` names a FIFO (created if missing); each line written to
it is one event, `<direction> [<action>]`, e.g. `echo middle > $FIFO`. Tests
and demos press the simulated (or emulated) stick this way without any extra
network surface: only someone who can write the file can press.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

from sensor.boards.base import ACTIONS, DIRECTIONS, JoystickEvent

log = logging.getLogger(__name__)

Press = Callable[[str, str], None]


def parse_press(line: str) -> JoystickEvent:
    parts = line.split()
    if not 1 <= len(parts) <= 2:
        raise ValueError(f"expected '<direction> [<action>]', got {line!r}")
    direction, action = parts[0].lower(), (parts[1].lower() if len(parts) == 2 else "pressed")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction: {direction!r} is not one of {', '.join(DIRECTIONS)}")
    if action not in ACTIONS:
        raise ValueError(f"action: {action!r} is not one of {', '.join(ACTIONS)}")
    return JoystickEvent(direction, action)


def open_fifo(path: Path) -> int:
    """Open (creating if needed) the FIFO for reading without blocking.

    Opened read-write so the reader never sees end-of-file when a writer closes:
    `echo` can write one line at a time for as long as the module runs.
    """
    if not path.exists():
        os.mkfifo(path, 0o600)
    if not stat.S_ISFIFO(path.stat().st_mode):
        raise ValueError(f"SENSE_JOYSTICK_FIFO: {path} exists and is not a FIFO")
    return os.open(path, os.O_RDWR | os.O_NONBLOCK)


async def serve_fifo(path: Path, press: Press) -> None:
    """Feed every line written to the FIFO to `press` until cancelled."""
    fd = open_fifo(path)
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()
    buffer = bytearray()

    def readable() -> None:
        with contextlib.suppress(BlockingIOError):
            buffer.extend(os.read(fd, 4096))
        while b"\n" in buffer:
            line, _, rest = bytes(buffer).partition(b"\n")
            buffer[:] = rest
            lines.put_nowait(line.decode("utf-8", "replace"))

    loop.add_reader(fd, readable)
    log.info("joystick presses accepted on FIFO %s", path)
    try:
        while True:
            line = await lines.get()
            if not line.strip():
                continue
            try:
                event = parse_press(line)
                press(event.direction, event.action)
            except ValueError as e:
                log.warning("joystick FIFO: %s", e)
    finally:
        loop.remove_reader(fd)
        os.close(fd)
