"""`central hub`: run the local edgeHub on its own, for tests and debugging.

It serves until SIGINT or SIGTERM. A module can then be started by hand with the
variables in `<state-dir>/modules/<module>.env`, with no change to its code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
from pathlib import Path

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("hub", help="run the local edgeHub (MQTT/TLS, workload API, metrics)")
    parser.add_argument("--manifest", type=Path, required=True, help="deployment manifest (JSON)")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(os.environ.get("CENTRAL_STATE_DIR", ".central")),
        help="where keys, certificates, module .env files and hub.db live (default .central)",
    )
    parser.set_defaults(func=run)


async def _serve(manifest: dict, bind: str, state_dir: Path) -> None:
    from central.hub.app import Hub  # imported here so other commands start without loading the hub

    hub = Hub(manifest, bind, state_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await hub.start()
    try:
        await stop.wait()
    finally:
        await hub.stop()


def run(args: argparse.Namespace) -> int:
    try:
        manifest = json.loads(args.manifest.read_text())
    except (OSError, ValueError) as e:
        log.error("cannot read manifest %s: %s", args.manifest, e)
        return 2
    try:
        asyncio.run(_serve(manifest, args.bind, args.state_dir))
    except ValueError as e:
        log.error("%s", e)
        return 2
    except OSError as e:
        log.error("cannot start the hub on %s: %s", args.bind, e)
        return 1
    return 0
