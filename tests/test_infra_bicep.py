"""infra/*.bicep: parses (pycep-parser), passes checkov with every skip justified, and keeps its promises.

pycep-parser and checkov live in the tools venv (.venv-tools, from tools/checkov.lock; CENTRAL_TOOLS_VENV
overrides), because checkov's pinned dependencies clash with the project's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

# These run tools as processes.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
INFRA = REPO / "infra"
BICEP_FILES = sorted([INFRA / "main.bicep", *(INFRA / "modules").glob("*.bicep")])
TOOLS_VENV = Path(os.environ.get("CENTRAL_TOOLS_VENV", REPO / ".venv-tools"))
SKIP_COMMENT = re.compile(r"//\s*checkov:skip=(\w+):\s*(.*)")

# Run by the tools venv's Python: every Bicep file -> pycep's JSON form.
PARSE_ALL = """
import json, sys
from pathlib import Path
from pycep import BicepParser
parser = BicepParser()
print(json.dumps({path: parser.parse(file_path=Path(path)) for path in sys.argv[1:]}))
"""


def tool(name: str) -> Path:
    path = TOOLS_VENV / "bin" / name
    if not path.exists():
        pytest.fail(
            f"{path} is missing: create the tools venv (python3 -m venv .venv-tools && "
            ".venv-tools/bin/pip install -r tools/checkov.lock)"
        )
    return path


@pytest.fixture(scope="module")
def parsed() -> dict[str, Any]:
    done = subprocess.run(
        [str(tool("python")), "-c", PARSE_ALL, *map(str, BICEP_FILES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return {Path(path).name: tree for path, tree in json.loads(done.stdout).items()}


def decorator(item: dict[str, Any], kind: str) -> Any:
    return next((d["argument"] for d in item["decorators"] if d["type"] == kind), None)


def test_every_file_parses(parsed: dict[str, Any]) -> None:
    assert set(parsed) == {"main.bicep", "iothub.bicep", "storage.bicep", "vision.bicep", "registry.bicep"}


def test_every_parameter_and_output_is_described(parsed: dict[str, Any]) -> None:
    undescribed = [
        f"{name}: {section} {item_name}"
        for name, tree in parsed.items()
        for section in ("parameters", "outputs")
        for item_name, item in tree[section].items()
        if not decorator(item, "description")
    ]
    assert undescribed == []


def test_skus_offer_only_what_iot_edge_can_use(parsed: dict[str, Any]) -> None:
    main = parsed["main.bicep"]["parameters"]
    assert decorator(main["iotHubSku"], "allowed") == ["S1", "F1"]
    assert main["iotHubSku"]["default"] == "S1"
    assert decorator(main["visionSku"], "allowed") == ["F0", "S1"]
    assert decorator(parsed["iothub.bicep"]["parameters"]["sku"], "allowed") == ["S1", "F1"]


def test_outputs_carry_no_secrets(parsed: dict[str, Any]) -> None:
    for name, tree in parsed.items():
        for output_name, output in tree["outputs"].items():
            text = (output_name + json.dumps(output["value"])).lower()
            for word in ("listkeys", "key", "connectionstring", "password", "secret"):
                assert word not in text, f"{name}: output {output_name} mentions {word}"


def test_storage_is_private_and_keeps_media_for_a_limited_time(parsed: dict[str, Any]) -> None:
    storage = parsed["storage.bicep"]
    account = storage["resources"]["account"]["config"]
    assert account["kind"] == "StorageV2"
    assert account["properties"]["minimumTlsVersion"] == "TLS1_2"
    assert account["properties"]["allowBlobPublicAccess"] is False
    assert account["properties"]["supportsHttpsTrafficOnly"] is True
    assert storage["variables"]["mediaContainers"]["value"] == ["photos", "videos"]
    rule = storage["resources"]["retention"]["config"]["properties"]["policy"]["rules"][0]
    assert rule["definition"]["actions"]["baseBlob"]["delete"]["daysAfterModificationGreaterThan"] == "retentionDays"


def test_telemetry_keeps_reaching_the_events_endpoint(parsed: dict[str, Any]) -> None:
    hub = parsed["iothub.bicep"]
    route = hub["variables"]["eventsRoute"]["value"]
    assert route["source"] == "DeviceMessages"
    assert route["endpointNames"] == ["events"]
    assert route["isEnabled"] is True
    fallback = hub["resources"]["hub"]["config"]["properties"]["routing"]["fallbackRoute"]
    assert fallback["endpointNames"] == ["events"]


def test_registry_is_basic_without_admin_user(parsed: dict[str, Any]) -> None:
    registry = parsed["registry.bicep"]["resources"]["registry"]["config"]
    assert registry["sku"]["name"] == "Basic"
    assert registry["properties"]["adminUserEnabled"] is False
    assert parsed["vision.bicep"]["resources"]["vision"]["config"]["kind"] == "ComputerVision"


def skip_comments() -> dict[str, str]:
    """check id -> justification, for every `checkov:skip` comment in the Bicep files."""
    found = {}
    for path in BICEP_FILES:
        for check, reason in SKIP_COMMENT.findall(path.read_text()):
            found[f"{path.name}:{check}"] = reason
    return found


def test_checkov_passes_and_every_skip_is_justified_and_needed() -> None:
    done = subprocess.run(
        [str(tool("checkov")), "-d", str(INFRA), "--framework", "bicep", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(done.stdout)
    results = report["results"]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})" for c in results["failed_checks"]]
    assert failed == []
    assert done.returncode == 0, done.stderr[-2000:]
    skipped = {f"{Path(c['file_path']).name}:{c['check_id']}" for c in results["skipped_checks"]}
    comments = skip_comments()
    assert skipped == set(comments), "every skip comment must match a check checkov ran, and vice versa"
    short = [key for key, reason in comments.items() if len(reason.split()) < 5]
    assert short == [], "each skip needs a reason of a few words"
