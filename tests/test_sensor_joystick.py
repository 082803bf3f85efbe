"""Joystick presses injected through the FIFO named by SENSE_JOYSTICK_FIFO."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sensor.boards.base import JoystickEvent
from sensor.joystick import open_fifo, parse_press, serve_fifo


@pytest.mark.parametrize(
    ("line", "event"),
    [("middle", JoystickEvent("middle", "pressed")), (" UP released \n", JoystickEvent("up", "released"))],
)
def test_parse_press(line: str, event: JoystickEvent) -> None:
    assert parse_press(line) == event


@pytest.mark.parametrize(
    ("line", "field"), [("sideways", "direction"), ("up bounced", "action"), ("a b c", "expected")]
)
def test_parse_press_names_what_is_wrong(line: str, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        parse_press(line)


def test_a_regular_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "stick"
    path.write_text("")
    with pytest.raises(ValueError, match="not a FIFO"):
        open_fifo(path)


def test_lines_written_by_separate_writers_all_arrive_and_bad_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "stick"
    pressed: list[tuple[str, str]] = []

    async def scenario() -> None:
        os.mkfifo(path)
        server = asyncio.create_task(serve_fifo(path, lambda d, a: pressed.append((d, a))))
        await asyncio.sleep(0.05)  # let the server open its end first
        for text in ("middle\n", "nonsense\nleft held\n", "\n", "down"):
            fd = os.open(path, os.O_WRONLY)  # each writer opens and closes, like `echo middle > fifo`
            os.write(fd, text.encode())
            os.close(fd)
        for _ in range(100):
            if len(pressed) == 2:
                break
            await asyncio.sleep(0.01)
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)

    asyncio.run(scenario())
    assert pressed == [("middle", "pressed"), ("left", "held")]  # "down" has no newline yet: not a full line
