"""`central build`: build every module image for a platform with docker buildx, optionally pushing it."""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from central import genconfig
from central.build import BuildError, buildx_command, module_images


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build",
        help="build the module images for a platform with docker buildx (and push them)",
        description="Build modules/*/module.json images for one platform with `docker buildx build`, tagged "
        "as `central genconfig` names them in the manifest. Run it in the solution folder. Before --push, log "
        "in to the registry: `az acr login --name NAME` for Azure Container Registry, else `docker login`.",
    )
    parser.add_argument(
        "-P",
        "--platform",
        choices=genconfig.PLATFORMS,
        help="image platform (default: DEFAULT_PLATFORM from the environment or .env, else amd64)",
    )
    parser.add_argument("--push", action="store_true", help="push each image to its registry after building")
    parser.add_argument("--dry-run", action="store_true", help="print the docker commands instead of running them")
    parser.add_argument("--env", type=Path, default=Path(".env"), help="variables file (default: ./.env)")
    parser.set_defaults(func=run)


def _docker_problem() -> str | None:
    """Why docker buildx cannot run here, or None when it can."""
    if shutil.which("docker") is None:
        return "docker is not installed; install Docker with the buildx plugin, or use --dry-run to see the commands"
    probe = subprocess.run(["docker", "buildx", "version"], capture_output=True, check=False)
    if probe.returncode != 0:
        return "docker has no buildx plugin (docker buildx version failed); install docker-buildx"
    return None


def run(args: argparse.Namespace) -> int:
    environment = genconfig.load_environment(args.env)
    platform = args.platform or genconfig.setting(environment, "DEFAULT_PLATFORM", genconfig.DEFAULT_PLATFORM)
    try:
        images = module_images(Path(), platform, environment)
    except BuildError as e:
        print(f"central build: {e}", file=sys.stderr)
        return 2
    commands = [(image.module, buildx_command(image, platform, args.push)) for image in images]
    if args.dry_run:
        for _, command in commands:
            print(shlex.join(command))
        return 0
    problem = _docker_problem()
    if problem:
        print(f"central build: {problem}", file=sys.stderr)
        return 1
    for module, command in commands:
        print(f"building {module}: {shlex.join(command)}", flush=True)
        if subprocess.run(command, check=False).returncode != 0:
            hint = " (log in to the registry first?)" if args.push else ""
            print(f"central build: building {module} failed{hint}", file=sys.stderr)
            return 1
    print(f"built {len(commands)} image(s) for {platform}" + (" and pushed them" if args.push else ""))
    return 0
