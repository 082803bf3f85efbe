"""Manifest diffs: start, stop, restart or leave alone each module."""

import copy
from typing import Any

from central.agent.plan import Selection, diff, startup_order


def module(image: str, order: int | None = None, status: str = "running", **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "version": "1.0",
        "type": "docker",
        "status": status,
        "restartPolicy": "always",
        "settings": {"image": image, "createOptions": "{}"},
        **extra,
    }
    if order is not None:
        spec["startupOrder"] = order
    return spec


def manifest(**modules: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = {
        "$edgeAgent": {"properties.desired": {"schemaVersion": "1.1", "modules": modules}},
        "$edgeHub": {"properties.desired": {"schemaVersion": "1.2", "routes": {"up": "FROM /* INTO $upstream"}}},
    }
    for name in modules:
        content[name] = {"properties.desired": {"interval": 5}}
    return {"modulesContent": content}


BASE = manifest(camera=module("cam:1", 2), sensor=module("sen:1", 1), vision=module("vis:1"))


def test_first_deployment_starts_everything_in_startup_order() -> None:
    plan = diff(None, BASE)
    assert plan.start == ("sensor", "camera", "vision")
    assert (plan.stop, plan.restart, plan.unchanged) == ((), (), ())


def test_same_manifest_changes_nothing() -> None:
    plan = diff(BASE, copy.deepcopy(BASE))
    assert plan.is_empty
    assert plan.unchanged == ("sensor", "camera", "vision")


def test_image_change_restarts_only_that_module() -> None:
    new = copy.deepcopy(BASE)
    new["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]["camera"]["settings"]["image"] = "cam:2"
    plan = diff(BASE, new)
    assert plan.restart == ("camera",)
    assert plan.unchanged == ("sensor", "vision")


def test_env_change_restarts_but_startup_order_change_does_not() -> None:
    new = copy.deepcopy(BASE)
    modules = new["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]
    modules["vision"]["env"] = {"VISION_BACKEND": {"value": "local"}}
    modules["sensor"]["startupOrder"] = 7
    plan = diff(BASE, new)
    assert plan.restart == ("vision",)
    assert "sensor" in plan.unchanged


def test_status_stopped_and_removal_stop_modules_and_new_ones_start() -> None:
    new = manifest(camera=module("cam:1", 2, status="stopped"), sensor=module("sen:1", 1), extra=module("x:1"))
    plan = diff(BASE, new)
    assert plan.stop == ("camera", "vision")
    assert plan.start == ("extra",)
    assert plan.unchanged == ("sensor",)


def test_routes_and_desired_changes_restart_nothing() -> None:
    new = copy.deepcopy(BASE)
    new["modulesContent"]["$edgeHub"]["properties.desired"]["routes"]["more"] = "FROM /x INTO $upstream"
    new["modulesContent"]["sensor"]["properties.desired"]["interval"] = 9
    plan = diff(BASE, new)
    assert plan.routes_changed
    assert plan.desired_changed == ("sensor",)
    assert plan.restart == () and plan.start == ()


def test_selection_only_and_skip() -> None:
    assert diff(None, BASE, Selection(skip=frozenset({"camera"}))).start == ("sensor", "vision")
    assert diff(None, BASE, Selection(only=frozenset({"camera", "vision"}))).start == ("camera", "vision")


def test_unset_startup_order_sorts_last_then_by_name() -> None:
    mods = {"b": {}, "a": {}, "z": {"startupOrder": 4294967295}, "y": {"startupOrder": 0}}
    assert startup_order(mods) == ["y", "z", "a", "b"]
