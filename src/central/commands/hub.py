"""`central hub`: run the local edgeHub on its own, for tests and debugging.

It serves until SIGINT or SIGTERM. A module can then be started by hand with the
variables in `<state-dir>/modules/<module>.env`, with no change to its code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from pathlib import Path

from central.agent.local_settings import loopback_address
from central.edge_locator import state_dir

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("hub", help="run the local edgeHub (MQTT/TLS, workload API, metrics)")
    parser.add_argument("--manifest", type=Path, required=True, help="deployment manifest (JSON)")
    parser.add_argument("--bind", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--state-dir",
        help="where keys, certificates, module .env files and hub.db live (default $CENTRAL_STATE_DIR or .central)",
    )
    parser.set_defaults(func=run)


async def _serve(manifest: dict, bind: str, state: Path) -> None:
    from central.hub.app import Hub  # imported here so other commands start without loading the hub

    hub = Hub(manifest, bind, state)
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
        bind = loopback_address(args.bind, "--bind")
    except ValueError as e:
        log.error("%s", e)
        return 2
    try:
        manifest = json.loads(args.manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        log.error("cannot read manifest %s: %s", args.manifest, e)
        return 2
    try:
        asyncio.run(_serve(manifest, bind, state_dir(args.state_dir)))
    except ValueError as e:
        log.error("%s", e)
        return 2
    except OSError as e:
        log.error("cannot start the hub on %s: %s", args.bind, e)
        return 1
    return 0
