"""`central validate`: each broken manifest in tests/manifests/broken exits 2 naming the place.

tests/manifests/broken/cases.json says, for each file, the JSON pointer the message must name and a
phrase it must contain. The broken files are the recorded iotedgedev output with one thing broken.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from central.commands import validate as validate_command
from central.routing import ModuleInput, parse_route
from central.validate import pointer, validate_document
from tests.json_strategies import JSON, PLACES, put

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = Path(__file__).parent / "manifests"
BROKEN = MANIFESTS / "broken"
CASES: dict[str, dict[str, str]] = json.loads((BROKEN / "cases.json").read_text())


def run_validate(*files: Path) -> int:
    parser = argparse.ArgumentParser()
    validate_command.register(parser.add_subparsers())
    args = parser.parse_args(["validate", *map(str, files)])
    return int(args.func(args))


def test_every_broken_manifest_has_a_case() -> None:
    assert sorted(p.name for p in BROKEN.glob("*.json") if p.name != "cases.json") == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_manifest_exits_2_naming_the_place(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_validate(BROKEN / name) == 2
    lines = capsys.readouterr().err.splitlines()
    case = CASES[name]
    named = [line for line in lines if line.startswith(f"{BROKEN / name}: {case['path'] or '/'}: ")]
    assert named, f"no message names {case['path']!r}: {lines}"
    assert any(case["says"] in line for line in named), lines


@pytest.mark.parametrize(
    "path",
    [
        *sorted((MANIFESTS / "expected").glob("deployment*.json")),
        ROOT / "deployment.template.json",
    ],
    ids=lambda p: p.name,
)
def test_good_manifests_and_templates_are_valid(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_validate(path) == 0, capsys.readouterr().err


def test_missing_file_exits_2(tmp_path: Path) -> None:
    assert run_validate(tmp_path / "nothing.json") == 2


def test_file_that_is_not_utf8_exits_2_saying_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"a": "caf\u00e9"}'.encode("latin-1"))
    assert run_validate(path) == 2
    assert "not UTF-8 text (byte 10)" in capsys.readouterr().err


def _template() -> dict[str, Any]:
    return json.loads((ROOT / "deployment.template.json").read_text())


def test_template_schema_refs_resolve_offline_into_the_agent_schema() -> None:
    """template-4.0 `$ref`s azure-iot-edgeagent-deployment-1.1.json by relative name for `runtime`."""
    template = _template()
    template["modulesContent"]["$edgeAgent"]["properties.desired"]["runtime"]["type"] = "podman"
    problems = validate_document(template)
    assert [str(p) for p in problems] == [
        "/modulesContent/$edgeAgent/properties.desired/runtime/type: 'podman' is not one of ['docker']; "
        "use one of the listed values"
    ]


def test_template_create_options_over_4k_are_reported() -> None:
    template = _template()
    modules = template["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]
    modules["vision"]["settings"]["createOptions"] = {"Labels": {"pad": "x" * 4100}}
    problems = validate_document(template)
    assert [p.path for p in problems] == [
        "/modulesContent/$edgeAgent/properties.desired/modules/vision/settings/createOptions"
    ]
    assert "more than edgeAgent's 8 x 512" in problems[0].message


def test_placeholders_are_allowed_in_templates_only() -> None:
    template = _template()
    assert validate_document(template) == []
    manifest = copy.deepcopy(template)
    del manifest["$schema-template"]
    paths = {p.path for p in validate_document(manifest) if "unexpanded" in p.message or "placeholder" in p.message}
    assert "/modulesContent/$edgeAgent/properties.desired/modules/camera/settings/image" in paths
    assert "/modulesContent/$edgeAgent/properties.desired/modules/camera/env/CAMERA_BACKEND/value" in paths


def test_route_text_may_use_dollar_names() -> None:
    """`$upstream`, `$body.x` and system properties such as `$connectionModuleId` are route syntax, not variables."""
    manifest = json.loads((MANIFESTS / "expected" / "deployment.amd64.json").read_text())
    routes = manifest["modulesContent"]["$edgeHub"]["properties.desired"]["routes"]
    routes["bySender"] = "FROM /messages/* WHERE $connectionModuleId = 'sensor' INTO $upstream"
    assert validate_document(manifest) == []


def test_pointer_escapes_slash_and_tilde() -> None:
    assert pointer("routes", "a/b~c", 0) == "/routes/a~1b~0c/0"


def test_template_routes_express_the_pipeline() -> None:
    """The pipeline: photos to vision, analysis/videos/telemetry/alerts upstream, joystick, detections."""
    routes = _template()["modulesContent"]["$edgeHub"]["properties.desired"]["routes"]
    flows = set()
    for spec in routes.values():
        route = parse_route(spec["route"] if isinstance(spec, dict) else spec)
        sink = f"{route.sink.module}/{route.sink.input}" if isinstance(route.sink, ModuleInput) else str(route.sink)
        flows.add((route.source.removeprefix("/messages/modules/"), sink, route.condition is not None))
    assert flows == {
        ("camera/outputs/photos", "vision/photos", False),
        ("camera/outputs/videos", "$upstream", False),
        ("vision/outputs/analysis", "$upstream", False),
        ("vision/outputs/detections", "sensor/status", True),
        ("sensor/outputs/telemetry", "$upstream", False),
        ("sensor/outputs/alerts", "$upstream", False),
        ("sensor/outputs/joystick", "camera/trigger", True),
    }
    assert routes["sensorAlertsToIoTHub"]["priority"] == 0
    assert routes["sensorAlertsToIoTHub"]["timeToLiveSecs"] > 0


@settings(max_examples=200, deadline=None)
@given(place=st.sampled_from(PLACES), value=JSON, template=st.booleans())
def test_any_json_anywhere_gives_problems_not_a_crash(place: tuple[str, ...], value: object, template: bool) -> None:
    document = _template() if template else json.loads((MANIFESTS / "expected" / "deployment.amd64.json").read_text())
    problems = validate_document(put(document, place, value))
    assert all(isinstance(p.path, str) and p.message for p in problems)
