"""The edgeHub route language: parse, type-check and evaluate routes, and match messages to endpoints.

Pure: no I/O. The local hub routes with it and `central validate` checks manifests with it.
"""

from central.routing.errors import RouteSyntaxError
from central.routing.route import Condition, Route, parse_route
from central.routing.sinks import UPSTREAM_ENDPOINT, ModuleInput, Sink, Upstream, parse_endpoint
from central.routing.table import DEFAULT_PRIORITY, DEFAULT_TTL_S, Match, RouteTable

__all__ = [
    "DEFAULT_PRIORITY",
    "DEFAULT_TTL_S",
    "UPSTREAM_ENDPOINT",
    "Condition",
    "Match",
    "ModuleInput",
    "Route",
    "RouteSyntaxError",
    "RouteTable",
    "Sink",
    "Upstream",
    "parse_endpoint",
    "parse_route",
]
