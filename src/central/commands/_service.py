"""What the operator commands share: which hub they talk to, and how they print.

One code path for both targets: the official `azure-iot-hub` SDK, pointed at
the local edge's service API (found through `--state-dir`/CENTRAL_STATE_DIR,
trusting the local CA) or at a real IoT Hub (`--hub-connection-string` or
IOTHUB_CONNECTION_STRING, with `--device-id` or IOTHUB_DEVICE_ID).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from central.edge_locator import (
    CA_FILE,
    EdgeNotRunningError,
    owner_connection_string,
    owner_key,
    read_edge_info,
    state_dir,
)

if TYPE_CHECKING:
    from azure.iot.hub import IoTHubRegistryManager

HUB_ENV = "IOTHUB_CONNECTION_STRING"
DEVICE_ENV = "IOTHUB_DEVICE_ID"
OK, FAILED, USAGE = 0, 1, 2


class CommandError(Exception):
    """The call failed; `code` is the exit code (1 failed, 2 usage)."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Target:
    connection_string: str = field(repr=False)  # it holds the key
    device_id: str
    ca_file: Path | None
    """The local CA when the target is the local edge; None for a real hub (system trust)."""

    def registry_manager(self) -> IoTHubRegistryManager:
        from azure.iot.hub import IoTHubRegistryManager  # the SDK is slow to import; only calls need it

        manager = IoTHubRegistryManager.from_connection_string(self.connection_string)
        if self.ca_file is not None:
            manager.protocol.config.connection.verify = str(self.ca_file)
        return manager


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", help="local edge state directory (default $CENTRAL_STATE_DIR or .central)")
    parser.add_argument("--hub-connection-string", help=f"a real IoT Hub instead of the local edge (or ${HUB_ENV})")
    parser.add_argument("--device-id", help=f"device on the real hub (or ${DEVICE_ENV})")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def resolve_target(args: argparse.Namespace) -> Target:
    hub = args.hub_connection_string or os.environ.get(HUB_ENV)
    if hub:
        device = args.device_id or os.environ.get(DEVICE_ENV)
        if not device:
            raise CommandError(f"--device-id (or ${DEVICE_ENV}) is required with a hub connection string", USAGE)
        return Target(hub, device, None)
    state = state_dir(args.state_dir)
    try:
        info = read_edge_info(state)
        connection_string = owner_connection_string(info.service_host, owner_key(state))
        return Target(connection_string, info.device_id, state / CA_FILE)
    except EdgeNotRunningError as e:
        raise CommandError(str(e)) from e


@contextmanager
def service_errors() -> Iterator[None]:
    """Turn SDK and network failures into one-line CommandErrors (exit 1)."""
    from msrest.exceptions import ClientRequestError, HttpOperationError

    try:
        yield
    except HttpOperationError as e:
        raise CommandError(f"the hub answered {e.response.status_code}: {_error_text(e.response.text)}") from e
    except ClientRequestError as e:
        raise CommandError(f"cannot reach the hub: {e}") from e


def _error_text(body: str) -> str:
    try:
        message = json.loads(body).get("Message", body)
    except (ValueError, AttributeError):
        return body.strip()
    return str(message).split(";", 1)[-1]


def parse_json_argument(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise CommandError(f"{what} is not JSON: {e.msg} at column {e.colno}", USAGE) from e


def print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, sort_keys=False, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str("-" if v is None else v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    for line in [list(headers), *cells]:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def runs(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a command so a CommandError prints one line to stderr and becomes its exit code."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except CommandError as e:
            print(f"central {args.command}: {e}", file=sys.stderr)
            return e.code

    return run
