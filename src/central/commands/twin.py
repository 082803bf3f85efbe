"""`central twin <module> [--set JSON]`: show a module twin, or patch its desired properties."""

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


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("twin", help="show a module twin or patch its desired properties")
    p.add_argument("module")
    p.add_argument("--set", metavar="JSON", help="desired properties patch, e.g. '{\"quality\": 70}'")
    add_target_arguments(p)
    p.set_defaults(func=runs(twin))


def twin(args: argparse.Namespace) -> int:
    from azure.iot.hub.models import Twin, TwinProperties

    patch = None if args.set is None else parse_json_argument(args.set, "--set")
    if patch is not None and not isinstance(patch, dict):
        raise CommandError("--set must be a JSON object of desired properties", USAGE)
    target = resolve_target(args)
    manager = target.registry_manager()
    with service_errors():
        if patch is None:
            result = manager.get_module_twin(target.device_id, args.module)
        else:
            update = Twin(properties=TwinProperties(desired=patch))
            result = manager.update_module_twin(target.device_id, args.module, update, etag="*")
    document = result.serialize(keep_readonly=True)
    if args.json:
        print(json.dumps(document))
    else:
        properties = document.get("properties", {})
        print(f"{args.module} ({document.get('connectionState', 'unknown')})")
        print_json({"desired": properties.get("desired", {}), "reported": properties.get("reported", {})})
    return 0
