"""The routes of one `$edgeHub` desired-properties section, compiled once, matched per message.

Both route forms are accepted: `"name": "FROM ... INTO ..."` and
`"name": {"route": "...", "priority": 0-9, "timeToLiveSecs": N}` (edgeHub schema 1.1+). Priority 0
is the highest; a route without one is below every explicit priority. A TTL of 0 (or none) means
`storeAndForwardConfiguration.timeToLiveSecs`, 7200 s when that is not set either.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from central.routing.context import EvaluationContext, RoutableMessage
from central.routing.errors import RouteSyntaxError
from central.routing.route import Route, parse_route
from central.routing.sinks import ModuleInput

DEFAULT_TTL_S: Final = 7200
DEFAULT_PRIORITY: Final = 2_000_000_000
"""edgeHub's priority for routes that do not set one: after 0-9."""


@dataclass(frozen=True)
class Match:
    """One endpoint a message goes to, and how it is queued there."""

    route: str
    endpoint: str
    priority: int
    ttl_s: int


@dataclass(frozen=True)
class NamedRoute:
    name: str
    route: Route
    priority: int
    ttl_s: int


class RouteTable:
    """Compiled routes; `match` gives every (endpoint, priority, TTL) a message goes to, once each.

    As in edgeHub (RouteResult equality), two routes that send a message to the same endpoint with
    the same priority and TTL queue it once; with different ones, once per queue."""

    def __init__(self, routes: list[NamedRoute]) -> None:
        self.routes = routes

    @classmethod
    def from_edgehub(cls, desired: Mapping[str, object]) -> RouteTable:
        """From `$edgeHub` `properties.desired`; RouteSyntaxError names the route that fails."""
        default_ttl = _global_ttl(desired)
        routes = desired.get("routes") or {}
        if not isinstance(routes, Mapping):
            raise RouteSyntaxError("'routes' must be an object of named routes", 1, str(routes))
        return cls([_named_route(str(name), spec, default_ttl) for name, spec in routes.items()])

    def match(self, message: RoutableMessage) -> list[Match]:
        context = EvaluationContext(message)
        matches: dict[tuple[str, int, int], Match] = {}
        for named in self.routes:
            queue = (named.route.sink.endpoint, named.priority, named.ttl_s)
            if queue not in matches and named.route.matches(context):
                matches[queue] = Match(named.name, *queue)
        return list(matches.values())

    def modules_referenced(self) -> set[str]:
        """Modules named as route targets (for `central validate`)."""
        return {r.route.sink.module for r in self.routes if isinstance(r.route.sink, ModuleInput)}

    def endpoints(self) -> set[str]:
        return {r.route.sink.endpoint for r in self.routes}


def _global_ttl(desired: Mapping[str, object]) -> int:
    config = desired.get("storeAndForwardConfiguration") or {}
    ttl = config.get("timeToLiveSecs", DEFAULT_TTL_S) if isinstance(config, Mapping) else None
    if not _is_int(ttl) or ttl <= 0:  # type: ignore[operator]
        text = f"storeAndForwardConfiguration.timeToLiveSecs = {ttl!r}"
        raise RouteSyntaxError("timeToLiveSecs must be a positive integer", 1, text)
    return int(ttl)  # type: ignore[arg-type]


def _named_route(name: str, spec: object, default_ttl: int) -> NamedRoute:
    if isinstance(spec, str):
        text, priority, ttl = spec, DEFAULT_PRIORITY, 0
    elif isinstance(spec, Mapping) and isinstance(spec.get("route"), str):
        text, priority, ttl = spec["route"], spec.get("priority", DEFAULT_PRIORITY), spec.get("timeToLiveSecs", 0)
    else:
        raise RouteSyntaxError(f"route '{name}': must be a string or {{\"route\": ...}}", 1, repr(spec))
    if not _is_int(priority) or not (0 <= priority <= 9 or priority == DEFAULT_PRIORITY):
        raise RouteSyntaxError(f"route '{name}': priority must be an integer 0-9, got {priority!r}", 1, text)
    if not _is_int(ttl) or ttl < 0:
        raise RouteSyntaxError(f"route '{name}': timeToLiveSecs must be an integer >= 0, got {ttl!r}", 1, text)
    try:
        route = parse_route(text)
    except RouteSyntaxError as e:
        raise e.naming(name) from None
    return NamedRoute(name, route, int(priority), int(ttl) or default_ttl)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
