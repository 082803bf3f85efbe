"""`central up`: run the whole solution locally until Ctrl-C.

Generates the manifest from a template (as `central genconfig` does), then
starts the hub, Azurite, the service API and every module (see
`central.edge_runtime`). One `central up` runs per state dir: a second one with
the same manifest says so and exits 1; with a changed manifest it hands the
manifest to the running one (`<state>/manifest.next.json` + SIGHUP), waits
until it is applied, and exits 0 — unchanged modules keep running.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import signal
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from central import genconfig
from central.agent.azurite import AzuriteError
from central.agent.leftovers import reap
from central.agent.local_settings import DEFAULT_PATH, LocalSettingsError, load, loopback_address
from central.agent.plan import Plan, Selection
from central.edge_locator import (
    AlreadyRunningError,
    EdgeNotRunningError,
    read_edge_info,
    single_instance,
    state_dir,
)
from central.manifest import Manifest
from central.portcheck import PortInUseError

if TYPE_CHECKING:  # the runtime pulls in the hub and the storage SDK; only `central up` needs them
    from central.edge_runtime import EdgeOptions, EdgeRuntime

NEXT_MANIFEST = "manifest.next.json"
APPLY_RESULT = "apply.result.json"
HANDOVER_WAIT_S = 300.0
DEFAULT_TEMPLATE = Path("deployment.template.json")
# Without a .env the example's values (Pi hardware) fill the template; local settings then override them.
ENV_FILES = (Path(".env"), Path(".env.example"))


class UpError(ValueError):
    """The manifest, template or options are unusable; the message is the one line the user sees."""


def say(message: str) -> None:
    print(f"central | {message}", flush=True)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser("up", help="run the local edge (hub, Azurite, modules) until Ctrl-C")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--template", type=Path, help="deployment template to expand (default deployment.template.json)"
    )
    source.add_argument("--manifest", type=Path, help="an already generated deployment manifest")
    p.add_argument("--platform", "-P", default="amd64", help="platform for image placeholders (default amd64)")
    p.add_argument("--env", type=Path, help="variables for the template (default .env, else .env.example)")
    p.add_argument("--only", nargs="+", default=[], metavar="MODULE", help="run only these modules")
    p.add_argument("--skip", nargs="+", default=[], metavar="MODULE", help="leave these modules out")
    p.add_argument("--state-dir", help="state directory (default $CENTRAL_STATE_DIR or .central)")
    p.add_argument("--settings", type=Path, default=DEFAULT_PATH, help="local settings (default central.local.toml)")
    p.add_argument("--bind", help="loopback address for every server (overrides the settings file)")
    p.add_argument("--modules-dir", type=Path, help="folder with the module folders (default ./modules)")
    p.add_argument("--grace", type=float, default=10.0, help="seconds between SIGTERM and SIGKILL (default 10)")
    p.set_defaults(func=run)


def load_manifest(args: argparse.Namespace) -> dict[str, Any]:
    """The manifest to run: --manifest as given, else --template (or the default template) expanded."""
    if args.manifest is not None:
        try:
            manifest = json.loads(args.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise UpError(f"--manifest {args.manifest}: {e}") from e
        if not isinstance(manifest, dict):
            raise UpError(f"--manifest {args.manifest}: a deployment manifest is a JSON object")
        return manifest
    template = args.template or DEFAULT_TEMPLATE
    if not template.is_file():
        raise UpError(f"no template {template}: give --template or --manifest")
    env_file = args.env or next((p for p in ENV_FILES if p.is_file()), None)
    environment = genconfig.load_environment(env_file)
    try:
        expansion = genconfig.generate(template, args.platform, environment)
    except genconfig.GenconfigError as e:
        raise UpError(str(e)) from e
    name = genconfig.manifest_name(template, expansion.schema_template, args.platform, environment)
    out = template.parent / "config" / name
    genconfig.write_manifest(expansion.manifest, out)
    say(f"generated {out} from {template}")
    return expansion.manifest


def options_from(args: argparse.Namespace, state: Path) -> EdgeOptions:
    from central.edge_runtime import EdgeOptions

    try:
        settings = load(args.settings)
        if args.bind:
            settings = dataclasses.replace(settings, bind=loopback_address(args.bind, "--bind"))
    except LocalSettingsError as e:
        raise UpError(str(e)) from e
    modules_dir = args.modules_dir or Path("modules")
    if args.modules_dir is None and not modules_dir.is_dir() and args.template is not None:
        modules_dir = args.template.parent / "modules"
    return EdgeOptions(
        state=state,
        settings=settings,
        modules_dir=modules_dir.resolve(),
        platform=args.platform,
        selection=Selection(frozenset(args.only), frozenset(args.skip)),
        grace_s=args.grace,
        console=sys.stdout,
    )


def run(args: argparse.Namespace) -> int:
    from central.edge_runtime import check_ports

    for chatty in ("azure", "werkzeug"):  # both log every request at INFO
        logging.getLogger(chatty).setLevel(logging.WARNING)
    state = state_dir(args.state_dir)
    try:
        manifest = load_manifest(args)
        Manifest(manifest, str(args.manifest or "the generated manifest"))  # ManifestError lists each problem
        options = options_from(args, state)
        try:
            with single_instance(state):
                if ended := reap(state):
                    say(f"ended {', '.join(ended)}, left running by a central up that was killed")
                check_ports(options)
                return asyncio.run(serve(manifest, options))
        except AlreadyRunningError as e:
            return hand_over(state, manifest, str(e))
    except (PortInUseError, AzuriteError, OSError) as e:
        print(f"central up: {e}", file=sys.stderr)
        return 1
    except ValueError as e:  # the manifest, a route, the settings: names the field
        print(f"central up: {e}", file=sys.stderr)
        return 2


def describe(plan: Plan) -> str:
    parts = [f"{verb} {', '.join(names)}" for verb, names in
             (("started", plan.start), ("stopped", plan.stop), ("restarted", plan.restart)) if names]  # fmt: skip
    if plan.routes_changed:
        parts.append("routes updated")
    if plan.desired_changed:
        parts.append(f"desired properties of {', '.join(plan.desired_changed)} updated")
    return "; ".join(parts) or "nothing changed"


def where(options: EdgeOptions, dashboard_url: str) -> list[str]:
    default = options.state == state_dir(None)
    flag = "" if default else f" --state-dir {options.state}"
    return [
        f"local edge up: device {options.settings.device_id} on {options.bind}",
        f"dashboard: {dashboard_url}",
        f"state dir: {options.state} (logs in {options.state / 'logs'})",
        f"take a photo:    central invoke{flag} camera take_photo",
        f"watch upstream:  central monitor{flag}",
        f"module status:   central status{flag}",
        "Ctrl-C stops everything",
    ]


async def serve(manifest: dict[str, Any], options: EdgeOptions) -> int:
    """Run the edge until SIGINT/SIGTERM; SIGHUP applies `<state>/manifest.next.json`."""
    from central.edge_runtime import EdgeRuntime

    loop = asyncio.get_running_loop()
    signals: asyncio.Queue[signal.Signals] = asyncio.Queue()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, signals.put_nowait, sig)
    runtime = EdgeRuntime(manifest, options, say)
    if not await start_unless_stopped(runtime, signals):
        say("stopped while starting")
        return 0
    assert runtime.dashboard is not None
    for line in where(options, runtime.dashboard.url):
        say(line)
    try:
        while await signals.get() == signal.SIGHUP:
            await apply_next(runtime, options.state)
    finally:
        say("stopping")
        await runtime.stop()
    return 0


async def start_unless_stopped(runtime: EdgeRuntime, signals: asyncio.Queue[signal.Signals]) -> bool:
    """Start the edge; False if SIGINT or SIGTERM came first (what had started is stopped again).

    Starting waits up to a minute for the modules to connect, and Ctrl-C must
    not wait that long. A SIGHUP while starting is dropped: another `central up`
    sends one only once edge.json exists, which is after the start.
    """
    starting = asyncio.create_task(runtime.start(), name="start")
    while not starting.done():
        waiting = asyncio.create_task(signals.get())
        await asyncio.wait({starting, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            waiting.cancel()  # the queue keeps its items when a get is cancelled
        elif waiting.result() != signal.SIGHUP:
            if starting.done():  # both at once: started, so the main loop stops it
                signals.put_nowait(waiting.result())
                break
            starting.cancel()  # EdgeRuntime.start stops what it started, then re-raises
            with suppress(asyncio.CancelledError):
                await starting
            return False
    starting.result()  # start's own error, if it failed
    return True


async def apply_next(runtime: EdgeRuntime, state: Path) -> None:
    """Apply the manifest another `central up` left for us, and leave the result for it."""
    path = state / NEXT_MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        plan = await runtime.apply(manifest)
        result = {"ok": True, "message": describe(plan)}
    except (OSError, ValueError, KeyError, TypeError) as e:
        result = {"ok": False, "message": f"manifest not applied: {e}"}
    say(result["message"])
    path.unlink(missing_ok=True)
    tmp = state / (APPLY_RESULT + ".tmp")
    tmp.write_text(json.dumps(result), encoding="utf-8")
    tmp.replace(state / APPLY_RESULT)


def hand_over(state: Path, manifest: dict[str, Any], busy: str) -> int:
    """Give a changed manifest to the running `central up`; 1 if it runs this manifest already."""
    try:
        info = read_edge_info(state)
        running = json.loads((state / "manifest.json").read_text(encoding="utf-8"))
    except (EdgeNotRunningError, OSError, ValueError):
        print(f"central up: {busy}; it is still starting, try again shortly", file=sys.stderr)
        return 1
    if running == manifest:
        print(f"central up: {busy}, with this manifest; stop it with Ctrl-C first", file=sys.stderr)
        return 1
    result_path = state / APPLY_RESULT
    result_path.unlink(missing_ok=True)
    tmp = state / (NEXT_MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    tmp.replace(state / NEXT_MANIFEST)
    os.kill(info.pid, signal.SIGHUP)
    say(f"handed the changed manifest to the running edge (pid {info.pid}); waiting for it to apply")
    deadline = time.monotonic() + HANDOVER_WAIT_S
    while time.monotonic() < deadline:
        with suppress(FileNotFoundError, ValueError):
            result = json.loads(result_path.read_text(encoding="utf-8"))
            say(result["message"])
            return 0 if result["ok"] else 1
        time.sleep(0.1)
    print(f"central up: the running edge did not apply the manifest within {HANDOVER_WAIT_S:g} s", file=sys.stderr)
    return 1
