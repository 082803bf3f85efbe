"""What changes when one deployment manifest replaces another, as pure functions.

The agent never restarts a module that did not change: `diff` sorts every
module into start, stop, restart or unchanged, and says whether routes or
desired properties changed (those go to the hub and restart nothing).

A module's *run spec* is its `$edgeAgent` entry without `status` and
`startupOrder`: a change to anything else (image, createOptions, env, version,
restartPolicy) means the process must be restarted, as edgeAgent recreates the
container. `--only`/`--skip` act through a `Selection`: a module left out is
treated as not desired, so it is never started here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Manifest = Mapping[str, Any]

# startupOrder is 0..4294967295; an unset value sorts after every set one.
UNSET_STARTUP_ORDER = 2**32
_NOT_RUN_SPEC = ("status", "startupOrder")


@dataclass(frozen=True)
class Selection:
    """The modules `central up` runs: all, `--only` these, minus `--skip` those."""

    only: frozenset[str] = field(default_factory=frozenset)
    skip: frozenset[str] = field(default_factory=frozenset)

    def includes(self, name: str) -> bool:
        return (not self.only or name in self.only) and name not in self.skip


EVERY_MODULE = Selection()


@dataclass(frozen=True)
class Plan:
    start: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()
    restart: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    routes_changed: bool = False
    desired_changed: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.start or self.stop or self.restart or self.routes_changed or self.desired_changed)


def _desired(manifest: Manifest | None, twin: str) -> Mapping[str, Any]:
    if manifest is None:
        return {}
    return manifest.get("modulesContent", {}).get(twin, {}).get("properties.desired", {})


def agent_modules(manifest: Manifest | None) -> dict[str, Mapping[str, Any]]:
    """The `$edgeAgent` module entries by name."""
    return dict(agent_desired(manifest).get("modules", {}))


def agent_desired(manifest: Manifest | None) -> Mapping[str, Any]:
    """`$edgeAgent` desired properties (what the `$edgeAgent` twin shows as desired)."""
    return _desired(manifest, "$edgeAgent")


def hub_settings(manifest: Manifest | None) -> dict[str, Any]:
    """What of `$edgeHub` the hub applies: routes and store-and-forward settings."""
    desired = _desired(manifest, "$edgeHub")
    return {k: desired.get(k) for k in ("routes", "storeAndForwardConfiguration")}


def module_desired(manifest: Manifest | None, name: str) -> Mapping[str, Any]:
    return _desired(manifest, name)


def run_spec(module: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in module.items() if k not in _NOT_RUN_SPEC}


def wants_running(manifest: Manifest | None, selection: Selection) -> dict[str, Mapping[str, Any]]:
    """Modules whose desired status is `running` and that the selection includes."""
    return {
        name: spec
        for name, spec in agent_modules(manifest).items()
        if spec.get("status", "running") == "running" and selection.includes(name)
    }


def startup_order(modules: Mapping[str, Mapping[str, Any]], names: Iterable[str] | None = None) -> list[str]:
    """Names sorted by `startupOrder` (lower first, unset last), then by name for a stable order."""
    chosen = modules if names is None else names
    return sorted(chosen, key=lambda n: (modules[n].get("startupOrder", UNSET_STARTUP_ORDER), n))


def diff(old: Manifest | None, new: Manifest, selection: Selection = EVERY_MODULE) -> Plan:
    """The changes that take the edge from `old` (None: nothing running) to `new`."""
    before, after = wants_running(old, selection), wants_running(new, selection)
    start = [n for n in after if n not in before]
    stop = [n for n in before if n not in after]
    kept = [n for n in after if n in before]
    restart = [n for n in kept if run_spec(before[n]) != run_spec(after[n])]
    unchanged = [n for n in kept if n not in restart]
    every = set(agent_modules(old)) | set(agent_modules(new))
    return Plan(
        start=tuple(startup_order(after, start)),
        stop=tuple(sorted(stop)),
        restart=tuple(startup_order(after, restart)),
        unchanged=tuple(startup_order(after, unchanged)),
        routes_changed=hub_settings(old) != hub_settings(new),
        desired_changed=tuple(
            sorted(n for n in every if module_desired(old, n) != module_desired(new, n) and n in agent_modules(new))
        ),
    )
