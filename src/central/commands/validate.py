"""`central validate`: check deployment manifests and templates offline (exit 2 on problems)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from central.validate import validate_file


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a deployment manifest or template (schemas, routes, createOptions, env, leftovers)",
        description="Validate deployment manifests (config/deployment.*.json) and templates (files with "
        "$schema-template) against the IoT Edge schemas and the edgeHub route grammar. Exit 2 on problems.",
    )
    parser.add_argument(
        "files", nargs="*", type=Path, metavar="FILE", help="files to check (default: deployment.template.json)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    files = args.files or [Path("deployment.template.json")]
    failed = False
    for path in files:
        if not path.is_file():
            print(f"{path}: no such file", file=sys.stderr)
            failed = True
            continue
        problems = validate_file(path)
        for problem in problems:
            print(f"{path}: {problem}", file=sys.stderr)
        if problems:
            failed = True
        else:
            print(f"{path}: valid")
    return 2 if failed else 0
