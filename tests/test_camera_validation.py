"""Payload and settings validation: every refusal names the field."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from camera.config import DEFAULTS, SETTINGS_SCHEMA, parse_resolution, still_settings
from camera.http_api import _payload
from camera.methods import GET_STATUS, TAKE_PHOTO, TAKE_VIDEO

from edgekit import MethodRegistry, Settings
from edgekit.validation import InvalidInput


def registry() -> MethodRegistry:
    methods = MethodRegistry()
    for name, schema in (("take_photo", TAKE_PHOTO), ("take_video", TAKE_VIDEO), ("get_status", GET_STATUS)):
        methods.method(name, schema)(lambda payload: {"ok": True})
    return methods


@pytest.mark.parametrize(
    ("method", "payload", "field"),
    [
        ("take_photo", {"quality": 0}, "quality"),
        ("take_photo", {"quality": 101}, "quality"),
        ("take_photo", {"rotation": 45}, "rotation"),
        ("take_photo", {"resolution": "big"}, "resolution"),
        ("take_photo", {"hflip": "yes"}, "hflip"),
        ("take_photo", {"label": "x" * 65}, "label"),
        ("take_photo", {"label": "a/b"}, "label"),
        ("take_photo", {"zoom": 2}, "zoom"),
        ("take_video", {}, "duration_s"),
        ("take_video", {"duration_s": 0.5}, "duration_s"),
        ("take_video", {"duration_s": 301}, "duration_s"),
        ("take_video", {"duration_s": 5, "fps": 0}, "fps"),
        ("take_video", {"duration_s": 5, "audio": True}, "audio"),
        ("get_status", {"verbose": True}, "verbose"),
    ],
)
def test_bad_payloads_get_400_naming_the_field(method: str, payload: dict[str, Any], field: str) -> None:
    status, body = asyncio.run(registry().dispatch(method, payload))
    assert status == 400 and body["field"] == field


def test_good_payloads_pass() -> None:
    methods = registry()
    full = {"resolution": "640x480", "quality": 70, "rotation": 270, "hflip": True, "vflip": False, "label": "door-1"}
    assert asyncio.run(methods.dispatch("take_photo", full)) == (200, {"ok": True})
    assert asyncio.run(methods.dispatch("take_photo", None)) == (200, {"ok": True})
    assert asyncio.run(methods.dispatch("take_video", {"duration_s": 2.5, "fps": 30})) == (200, {"ok": True})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("8x8", "8 is outside 16-4096"),
        ("640x9000", "9000 is outside"),
        ("640x", "not WIDTHxHEIGHT"),
        ("-1x5", "not WIDTH"),
    ],
)
def test_resolution_limits(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem) as error:
        parse_resolution(text, "resolution")
    assert error.value.field == "resolution"


def test_video_sides_must_be_even() -> None:
    assert parse_resolution("641x480") == (641, 480)
    with pytest.raises(InvalidInput, match="641 is odd"):
        parse_resolution("641x480", even=True)


def test_request_values_override_the_twin_defaults() -> None:
    defaults = DEFAULTS | {"quality": 60, "hflip": True}
    still = still_settings(defaults, {"resolution": "320x240", "rotation": 90})
    assert (still.width, still.height, still.quality, still.rotation, still.hflip) == (320, 240, 60, 90, True)
    assert still.sensor_size == (240, 320)


def test_twin_settings_reject_bad_values_and_keep_the_good() -> None:
    settings = Settings(SETTINGS_SCHEMA, DEFAULTS)
    change = settings.apply(
        {"quality": 50, "photos_container": "Bad_Name", "spool_limit_mb": 0, "timelapse_interval_s": 30}
    )
    assert change.changed == {"quality": 50, "timelapse_interval_s": 30}
    assert set(change.rejected) == {"photos_container", "spool_limit_mb"}
    assert settings["photos_container"] == "photos"
    assert settings.reported()["rejected"]["spool_limit_mb"]


def test_query_parameters_become_typed_payloads() -> None:
    assert _payload({"duration": "5", "fps": "10"}, {"duration": "duration_s"}) == {"duration_s": 5.0, "fps": 10}
    assert _payload({"hflip": "true", "quality": "80", "label": "x"}, {}) == {
        "hflip": True,
        "quality": 80,
        "label": "x",
    }
    assert _payload({"quality": "high"}, {}) == ("quality", "'high' is not a number")
    assert _payload({"vflip": "maybe"}, {}) == ("vflip", "must be true or false")
