"""The edge view turns hub errors and manifest routes into what the dashboard's pages expect."""

import time

import pytest

from central.dashboard.app import clock
from central.edge_view import route_row, twin_errors
from central.hub.twins import TwinError


def test_a_missing_twin_is_a_lookup_error_and_a_refused_patch_a_value_error() -> None:
    with pytest.raises(KeyError, match="no twin"), twin_errors():
        raise TwinError(404, "module 'x' has no twin")
    with pytest.raises(ValueError, match="nests deeper"), twin_errors():
        raise TwinError(400, "desired nests deeper than 10 levels")


def test_string_and_object_routes_become_rows_with_their_counts() -> None:
    assert route_row("a", "FROM /messages/* INTO $upstream", 3.0) == {
        "name": "a", "route": "FROM /messages/* INTO $upstream", "priority": 0, "ttl_s": 0, "count": 3,
    }  # fmt: skip
    spec = {"route": "FROM /messages/* INTO $upstream", "priority": 2, "timeToLiveSecs": 60}
    assert route_row("b", spec, 0) == {"name": "b", "route": spec["route"], "priority": 2, "ttl_s": 60, "count": 0}


def test_clock_shows_local_wall_time() -> None:
    at = time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, -1))
    assert clock(at) == "03:04:05"
