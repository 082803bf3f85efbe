"""`python -m sensor`: the Sense HAT module (Dockerfile CMD and what `central up` runs)."""

from __future__ import annotations

import logging
import os
import sys

from edgekit.logs import setup_logging
from sensor.app import build_module
from sensor.boards import board_from_env

log = logging.getLogger("sensor")


def main() -> int:
    setup_logging("sensor")
    try:
        board = board_from_env(os.environ)
    except (ValueError, RuntimeError, OSError) as e:  # a bad variable, a missing library, no device, a busy emulator
        log.error("cannot start: %s", e)  # one line naming the backend, package or variable
        return 2
    try:
        build_module(board).run()
    finally:
        board.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
