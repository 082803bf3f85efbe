"""`central invoke <module> <method> [JSON]`: call a module's direct method, locally or on a real hub."""

from __future__ import annotations

import argparse
import json

from central.commands._service import (
    USAGE,
    CommandError,
    add_target_arguments,
    parse_json_argument,
    print_json,
    resolve_target,
    runs,
    service_errors,
)

MIN_TIMEOUT_S, MAX_TIMEOUT_S = 5, 300


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("invoke", help="invoke a module's direct method")
    p.add_argument("module")
    p.add_argument("method")
    p.add_argument("payload", nargs="?", default="{}", help="JSON payload (default {})")
    p.add_argument("--timeout", type=int, default=30, help="seconds to wait for the answer, 5-300 (default 30)")
    add_target_arguments(p)
    p.set_defaults(func=runs(invoke))


def invoke(args: argparse.Namespace) -> int:
    payload = parse_json_argument(args.payload, "payload")
    if not MIN_TIMEOUT_S <= args.timeout <= MAX_TIMEOUT_S:
        raise CommandError(f"--timeout must be {MIN_TIMEOUT_S}-{MAX_TIMEOUT_S} seconds", USAGE)
    from azure.iot.hub.models import CloudToDeviceMethod

    target = resolve_target(args)
    request = CloudToDeviceMethod(method_name=args.method, payload=payload, response_timeout_in_seconds=args.timeout)
    with service_errors():
        result = target.registry_manager().invoke_device_module_method(target.device_id, args.module, request)
    if args.json:
        print(json.dumps({"status": result.status, "payload": result.payload}))
    else:
        print(f"{args.module}.{args.method}: status {result.status}")
        print_json(result.payload)
    return 0 if 200 <= result.status < 300 else 1
