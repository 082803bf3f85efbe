"""Direct-method dispatch: every call gets a status, a bad payload names its field, a bug is a 500."""

import asyncio

import pytest

from edgekit import BackendRegistry, MethodError, MethodRegistry, MissingBackendError
from edgekit.retry import Backoff

PHOTO = {
    "type": "object",
    "properties": {"quality": {"type": "integer", "minimum": 1, "maximum": 100}, "label": {"type": "string"}},
    "additionalProperties": False,
}


def registry() -> MethodRegistry:
    methods = MethodRegistry()

    @methods.method("take_photo", schema=PHOTO)
    async def take_photo(payload: dict) -> dict:
        return {"quality": payload.get("quality", 85)}

    @methods.method("busy")
    def busy(payload: dict) -> None:
        raise MethodError(409, "camera is recording", field=None)

    @methods.method("broken")
    async def broken(payload: dict) -> None:
        raise KeyError("oops")

    @methods.method("accepted")
    async def accepted(payload: dict) -> tuple[int, dict]:
        return 202, {"job": "1"}

    return methods


def call(name: str, payload: object) -> tuple[int, object]:
    return asyncio.run(registry().dispatch(name, payload))


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"quality": 0}, 400, "quality"),
        ({"quality": "high"}, 400, "quality"),
        ({"qualty": 50}, 400, "qualty"),
        ([], 400, ""),
    ],
)
def test_bad_payload_is_400_naming_the_field(payload: object, status: int, field: str) -> None:
    got_status, body = call("take_photo", payload)
    assert got_status == status
    assert isinstance(body, dict)
    assert body["field"] == field


def test_no_payload_means_empty_object() -> None:
    assert call("take_photo", None) == (200, {"quality": 85})


def test_unknown_method_is_404_listing_the_methods() -> None:
    status, body = call("take_selfie", {})
    assert status == 404
    assert "take_photo" in body["methods"]


def test_method_error_keeps_its_status() -> None:
    assert call("busy", {}) == (409, {"error": "camera is recording"})


def test_a_bug_is_a_500_not_a_crash() -> None:
    status, body = call("broken", {})
    assert status == 500
    assert "KeyError" in body["error"]


def test_handler_can_choose_its_status() -> None:
    assert call("accepted", {}) == (202, {"job": "1"})


def test_registering_twice_is_an_error() -> None:
    methods = registry()
    with pytest.raises(ValueError, match="twice"):
        methods.method("busy")(lambda payload: None)


def test_missing_backend_library_names_the_package() -> None:
    backends: BackendRegistry[object] = BackendRegistry("camera")
    backends.register("picamera2", "picamera2_not_here:Picamera2", "python3-picamera2 (apt, Raspberry Pi OS)")
    backends.register("dict", "collections:OrderedDict", "the standard library")
    with pytest.raises(MissingBackendError, match=r"camera backend 'picamera2' needs python3-picamera2"):
        backends.load("picamera2")
    with pytest.raises(ValueError, match="choose one of dict, picamera2"):
        backends.load("nope")
    assert backends.create("dict") == {}


def test_backoff_grows_to_its_ceiling() -> None:
    b = Backoff(initial_s=1, maximum_s=60, jitter=0)
    assert [b.delay(n) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
