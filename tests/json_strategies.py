"""Hypothesis strategies for deployment documents: any JSON value, put anywhere a tool looks."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)

_AGENT = ("modulesContent", "$edgeAgent", "properties.desired")
PLACES = [
    ("modulesContent", "$edgeHub", "properties.desired", "routes"),
    ("modulesContent", "$edgeHub", "properties.desired", "routes", "cameraPhotosToVision"),
    (*_AGENT, "modules"),
    (*_AGENT, "modules", "camera"),
    (*_AGENT, "modules", "camera", "settings"),
    (*_AGENT, "modules", "camera", "settings", "image"),
    (*_AGENT, "modules", "camera", "settings", "createOptions"),
    (*_AGENT, "modules", "camera", "env"),
    (*_AGENT, "systemModules"),
    (*_AGENT, "schemaVersion"),
    ("modulesContent", "$edgeHub"),
    ("modulesContent",),
]


def put(document: dict[str, Any], place: tuple[str, ...], value: object) -> dict[str, Any]:
    """`document` with `value` at `place` (a path of keys that exists in the document up to its last step)."""
    node = document
    for key in place[:-1]:
        node = node[key]
    node[place[-1]] = value
    return document
