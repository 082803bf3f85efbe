"""`central logs <module> [-f]`: a module's output, as kept in `<state>/logs/<module>.log`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import deque
from pathlib import Path
from typing import TextIO

from central.commands._service import USAGE, CommandError, runs
from central.edge_locator import state_dir

POLL_S = 0.2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("logs", help="print a module's log (the local edge)")
    p.add_argument("module")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines until Ctrl-C")
    p.add_argument("-n", "--lines", type=int, default=100, help="how many of the last lines to print (default 100)")
    p.add_argument("--state-dir", help="local edge state directory (default $CENTRAL_STATE_DIR or .central)")
    p.set_defaults(func=runs(logs))


def logs(args: argparse.Namespace) -> int:
    path = state_dir(args.state_dir) / "logs" / f"{args.module}.log"
    if not path.is_file():
        known = sorted(p.stem for p in path.parent.glob("*.log"))
        raise CommandError(f"no log for {args.module!r} in {path.parent} (known: {', '.join(known) or 'none'})", USAGE)
    with path.open(encoding="utf-8", errors="replace") as f:
        sys.stdout.writelines(deque(f, maxlen=max(args.lines, 0)))
        sys.stdout.flush()
        if args.follow:
            follow(f, path)
    return 0


def follow(f: TextIO, path: Path) -> None:
    """Print lines as they are appended, until Ctrl-C (KeyboardInterrupt ends the command with 130).

    When the agent rotates the log (the path now names a new file), carry on in the new file, as `tail -F` does.
    """
    while True:
        line = f.readline()
        if line:
            sys.stdout.write(line)
            sys.stdout.flush()
        elif _replaced(f, path):
            f.close()
            f = path.open(encoding="utf-8", errors="replace")
        else:
            time.sleep(POLL_S)


def _replaced(f: TextIO, path: Path) -> bool:
    try:
        return os.fstat(f.fileno()).st_ino != path.stat().st_ino
    except FileNotFoundError:  # between the rename and the new file's creation
        return False
