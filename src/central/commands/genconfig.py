"""`central genconfig`: expand a deployment template into config/deployment.<platform>.json, then validate it."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from central import genconfig
from central.validate import validate_file

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "genconfig",
        help="expand a deployment template into a deployment manifest (as iotedgedev solution genconfig)",
        description="Expand deployment.template.json with .env and modules/*/module.json into "
        "config/deployment.<platform>.json, then validate the result (exit 2 on problems).",
    )
    parser.add_argument(
        "-P",
        "--platform",
        choices=genconfig.PLATFORMS,
        help="image platform (default: DEFAULT_PLATFORM from the environment or .env, else amd64)",
    )
    parser.add_argument("--template", type=Path, default=Path("deployment.template.json"), help="template file")
    parser.add_argument("--env", type=Path, default=Path(".env"), help="variables file (default: ./.env)")
    parser.add_argument(
        "--merge",
        type=Path,
        action="append",
        default=[],
        metavar="PATCH",
        help="JSON merge patch (RFC 7386) applied to the template, e.g. deployment.blobstorage.json for Blob "
        "Storage on IoT Edge; repeatable; the manifest is then named after the last patch",
    )
    parser.add_argument(
        "-o", "--output-dir", type=Path, help="where to write (default: CONFIG_OUTPUT_DIR, else ./config)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for source in (args.template, *args.merge):
        if not source.is_file():
            print(f"central genconfig: {source} not found", file=sys.stderr)
            return 2
    if not args.env.is_file():
        log.warning("%s not found: expanding with the process environment only (copy .env.example)", args.env)
    environment = genconfig.load_environment(args.env)
    platform = args.platform or genconfig.setting(environment, "DEFAULT_PLATFORM", genconfig.DEFAULT_PLATFORM)
    try:
        expansion = genconfig.generate(args.template, platform, environment, args.merge)
    except genconfig.GenconfigError as e:
        print(f"central genconfig: {e}", file=sys.stderr)
        return 2
    output_dir = args.output_dir or Path(genconfig.setting(environment, "CONFIG_OUTPUT_DIR", "config"))
    named_after = args.merge[-1] if args.merge else args.template
    path = output_dir / genconfig.manifest_name(named_after, expansion.schema_template, platform, environment)
    genconfig.write_manifest(expansion.manifest, path)
    problems = validate_file(path)
    for problem in problems:
        print(f"{path}: {problem}", file=sys.stderr)
    if problems:
        print(f"central genconfig: wrote {path}, which has {len(problems)} problem(s)", file=sys.stderr)
        return 2
    print(f"wrote {path} (platform {platform}); it validates")
    return 0
