"""`central status`: every module's runtime status, from the `$edgeAgent` twin's reported properties.

The same twin IoT Hub keeps for a real edge device, so the command works against
both; the local agent adds each module's `pid`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any

from central.commands._service import add_target_arguments, print_table, resolve_target, runs, service_errors

HEADERS = ("MODULE", "STATUS", "PID", "RESTARTS", "EXIT", "STARTED", "DESCRIPTION")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("status", help="show each module's status, pid, restarts and last exit code")
    add_target_arguments(p)
    p.set_defaults(func=runs(status))


def rows(modules: Mapping[str, Mapping[str, Any]]) -> list[list[Any]]:
    return [
        [
            name,
            m.get("runtimeStatus"),
            m.get("pid"),
            m.get("restartCount", 0),
            m.get("exitCode"),
            m.get("lastStartTimeUtc"),
            m.get("statusDescription"),
        ]
        for name, m in sorted(modules.items())
    ]


def status(args: argparse.Namespace) -> int:
    target = resolve_target(args)
    with service_errors():
        twin = target.registry_manager().get_module_twin(target.device_id, "$edgeAgent")
    reported = twin.properties.reported or {}
    modules = reported.get("modules", {})
    if args.json:
        print(json.dumps(modules))
    else:
        print_table(HEADERS, rows(modules))
    return 0
