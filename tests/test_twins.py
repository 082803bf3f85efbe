"""Twin merge/diff rules, limits and persistence (IoT Hub semantics)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from central.hub.twins import TwinError, TwinStore, diff, merge

MERGES = [
    ({}, {"a": 1}, {"a": 1}),
    ({"a": 1, "b": 2}, {"a": None}, {"b": 2}),
    ({"a": {"x": 1, "y": 2}}, {"a": {"y": None, "z": 3}}, {"a": {"x": 1, "z": 3}}),
    ({"a": 1}, {"a": {"x": None, "y": 1}}, {"a": {"y": 1}}),
    ({"a": {"x": 1}}, {"a": [1, 2]}, {"a": [1, 2]}),
    ({"a": 1}, {"missing": None}, {"a": 1}),
]


@pytest.mark.parametrize(("before", "patch", "after"), MERGES)
def test_merge_and_diff_are_inverse(before: dict, patch: dict, after: dict) -> None:
    assert merge(before, patch) == after
    assert merge(before, diff(before, after)) == after


def test_merge_does_not_touch_its_arguments() -> None:
    before, patch = {"a": {"x": 1}}, {"a": {"y": 2}}
    merge(before, patch)
    assert before == {"a": {"x": 1}}
    assert patch == {"a": {"y": 2}}


@pytest.fixture
def store(tmp_path: Path) -> TwinStore:
    twins = TwinStore(tmp_path / "hub.db")
    assert twins.seed("camera", {"fps": 5, "$version": 9}) is None
    return twins


def test_seed_versions_and_manifest_changes(store: TwinStore) -> None:
    assert store.get("camera").document()["desired"] == {"fps": 5, "$version": 1}
    assert store.seed("camera", {"fps": 5}) is None
    assert store.seed("camera", {"res": "hd"}) == {"fps": None, "res": "hd", "$version": 2}


def test_reported_patches_merge_version_and_persist(store: TwinStore, tmp_path: Path) -> None:
    assert store.patch_reported("camera", b'{"state": {"ok": true}}') == 2
    assert store.patch_reported("camera", b'{"state": {"n": 1}}') == 3
    store.close()
    again = TwinStore(tmp_path / "hub.db").get("camera")
    assert again.document()["reported"] == {"state": {"ok": True, "n": 1}, "$version": 3}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1]", "JSON object"),
        (b'{"a.b": 1}', "contains"),
        (b'{"$x": 1}', "contains"),
        (json.dumps({"big": "x" * 33_000}).encode(), "limit"),
        (json.dumps(json.loads('{"a":' * 11 + "1" + "}" * 11)).encode(), "deeper"),
    ],
)
def test_refused_reported_patches(store: TwinStore, body: bytes, message: str) -> None:
    with pytest.raises(TwinError, match=message) as refused:
        store.patch_reported("camera", body)
    assert refused.value.status == 400
    assert store.get("camera").reported_version == 1


def test_unknown_module_is_404(store: TwinStore) -> None:
    with pytest.raises(TwinError) as missing:
        store.get("vision")
    assert missing.value.status == 404
