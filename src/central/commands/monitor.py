"""`central monitor`: print upstream messages (what the edge sends to IoT Hub) as they arrive.

Locally it long-polls the service API's upstream log; against Azure it reads the
hub's built-in Event Hub-compatible endpoint with azure-eventhub
(`--eventhub-connection-string`, from the portal's "Built-in endpoints" page).
Both print the same shape: one JSON object per message with `--json`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from typing import Any

from central.commands._service import (
    USAGE,
    CommandError,
    Target,
    add_target_arguments,
    print_json,
    resolve_target,
    runs,
)
from central.hub.auth import build_token

POLL_WAIT_S = 10.0
RECENT_S = 60.0
EVENTHUB_ENV = "EVENTHUB_CONNECTION_STRING"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("monitor", help="print upstream messages as they arrive")
    p.add_argument("--module", help="only messages from this module")
    p.add_argument("--count", type=int, help="stop after this many messages")
    p.add_argument("--timeout", type=float, help="stop after this many seconds (exit 1 if --count was not reached)")
    p.add_argument(
        "--since",
        type=float,
        default=RECENT_S,
        help=f"first show messages of the last S seconds (default {RECENT_S:g})",
    )
    p.add_argument("--from-start", action="store_true", help="first show the whole stored upstream log (local edge)")
    p.add_argument("--eventhub-connection-string", help=f"read a real IoT Hub's built-in endpoint (or ${EVENTHUB_ENV})")
    add_target_arguments(p)
    p.set_defaults(func=runs(monitor))


def monitor(args: argparse.Namespace) -> int:
    if args.count is not None and args.count < 1:
        raise CommandError("--count must be at least 1", USAGE)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    eventhub = args.eventhub_connection_string
    source = eventhub_messages(eventhub, deadline) if eventhub else local_messages(resolve_target(args), args, deadline)
    seen = 0
    for message in source:
        if args.module and message.get("module") != args.module:
            continue
        if args.json:
            print(json.dumps(message), flush=True)
        else:
            show(message)
        seen += 1
        if args.count is not None and seen >= args.count:
            return 0
    if args.count is not None:
        raise CommandError(f"timed out after {args.timeout:g} s with {seen} of {args.count} messages")
    return 0


def show(message: dict[str, Any]) -> None:
    print(f"--- {message.get('enqueuedTime')}  {message.get('module')}/{message.get('output')}")
    print_json(message.get("body"))
    sys.stdout.flush()


def _remaining(deadline: float | None) -> float:
    return POLL_WAIT_S if deadline is None else max(0.0, min(POLL_WAIT_S, deadline - time.monotonic()))


def local_messages(target: Target, args: argparse.Namespace, deadline: float | None) -> Iterator[dict[str, Any]]:
    """Upstream messages from the local service API, oldest first, until the deadline."""
    import requests

    if target.ca_file is None:
        raise CommandError("monitoring a real hub needs --eventhub-connection-string", USAGE)
    fields = dict(part.split("=", 1) for part in target.connection_string.split(";") if "=" in part)
    host, key = fields["HostName"], fields["SharedAccessKey"]
    position = {"after": 0} if args.from_start else {"since": time.time() - args.since}
    with requests.Session() as session:
        while deadline is None or time.monotonic() < deadline:
            token = f"{build_token(host, key)}&skn={fields['SharedAccessKeyName']}"
            query = {**position, "wait": _remaining(deadline)}
            try:
                response = session.get(
                    f"https://{host}/local/upstream",
                    params=query,
                    headers={"Authorization": token},
                    verify=str(target.ca_file),  # per request: a session's verify loses to $REQUESTS_CA_BUNDLE
                    timeout=POLL_WAIT_S + 30,
                )
            except requests.RequestException as e:
                raise CommandError(f"cannot reach the local edge at {host}: {e}") from e
            if response.status_code != 200:
                raise CommandError(f"the local edge answered {response.status_code}: {response.text.strip()}")
            page = response.json()
            yield from page["messages"]
            position = {"after": page["next"]}


def eventhub_messages(connection_string: str, deadline: float | None) -> Iterator[dict[str, Any]]:
    """Messages from IoT Hub's built-in endpoint, newest only, in the same shape as the local ones."""
    import queue
    import threading

    from azure.eventhub import EventData, EventHubConsumerClient

    received: queue.Queue[dict[str, Any]] = queue.Queue()

    def on_event(_partition: Any, event: EventData | None) -> None:
        if event is not None:
            received.put(eventhub_json(event))

    client = EventHubConsumerClient.from_connection_string(connection_string, consumer_group="$Default")
    reader = threading.Thread(
        target=client.receive, kwargs={"on_event": on_event, "starting_position": "@latest"}, daemon=True
    )
    reader.start()
    try:
        while deadline is None or time.monotonic() < deadline:
            try:
                yield received.get(timeout=min(1.0, _remaining(deadline)) or 0.01)
            except queue.Empty:
                continue
    finally:
        client.close()


def eventhub_json(event: Any) -> dict[str, Any]:
    system = {k.decode() if isinstance(k, bytes) else k: v for k, v in (event.system_properties or {}).items()}
    text = event.body_as_str(encoding="utf-8")
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    return {
        "sequence": event.sequence_number,
        "module": _text(system.get("iothub-connection-module-id")),
        "output": None,
        "enqueuedTime": event.enqueued_time.isoformat() if event.enqueued_time else None,
        "properties": {_text(k): _text(v) for k, v in (event.properties or {}).items()},
        "systemProperties": {k: _text(v) for k, v in system.items()},
        "body": body,
    }


def _text(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value
