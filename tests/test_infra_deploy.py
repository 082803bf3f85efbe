"""infra/deploy.sh against the fake az: what it calls and in which order, idempotence, failure, secrecy."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

import pytest

from tests.fixtures.azstub import REPO, SECRETS, AzStub, deploy_keys, env_values

# These run scripts and tools as processes.
pytestmark = pytest.mark.slow

DEPLOY = REPO / "infra" / "deploy.sh"
HUB = "central-hub-x7k2q9"

FIRST_RUN = [
    "account show",
    "extension show",
    "extension add",
    "group show",
    "group create",
    "deployment group what-if",
    "deployment group create",
    "iot hub device-identity show",
    "iot hub device-identity create",
    "iot hub connection-string show",
    "storage account show-connection-string",
    "cognitiveservices account keys list",
    "iot hub device-twin show",
    "iot edge set-modules",
    "iot hub device-twin update",
]

CHANGING = ("create", "add", "update", "set-modules", "delete", "generate")


def option(call: list[str], name: str) -> str:
    return call[call.index(name) + 1]


def test_first_run_provisions_everything_in_order(az_stub: AzStub, infra_project: Path) -> None:
    result = az_stub.run(DEPLOY, "--project-dir", str(infra_project))

    assert result.code == 0, result.output
    assert az_stub.commands() == FIRST_RUN
    assert result.leaked_secrets() == []
    calls = az_stub.calls()
    assert option(calls[4], "--tags") == "managedBy=central-edge"
    create = calls[6]
    assert option(create, "--template-file") == str(REPO / "infra" / "main.bicep")
    assert "iotHubSku=S1" in create and "visionSku=F0" in create
    assert "--edge-enabled" in calls[8]
    assert option(calls[13], "--content") == str(infra_project / "config" / "deployment.arm32v7.json")
    assert "az iot hub device-identity connection-string show" in result.stdout
    assert "aziot-edge" in result.stdout


def test_env_file_gets_settings_and_keys_privately(az_stub: AzStub, infra_project: Path) -> None:
    az_stub.run(DEPLOY, "--project-dir", str(infra_project), "-d", "pi-kitchen")

    env_file = infra_project / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = env_values(env_file)
    assert values["IOTHUB_NAME"] == HUB
    assert values["DEVICE_ID"] == "pi-kitchen"
    assert values["RESOURCE_GROUP"] == "central-edge-rg"
    assert values["IOTHUB_CONNECTION_STRING"].endswith(
        f"SharedAccessKeyName=service;SharedAccessKey={SECRETS['hub_key']}"
    )
    assert values["STORAGE_CONNECTION_STRING"].endswith(f"AccountKey={SECRETS['storage_key']}")
    assert values["AZURE_VISION_KEY"] == SECRETS["vision_key"]
    assert values["AZURE_VISION_ENDPOINT"] == "https://central-vision-x7k2q9.cognitiveservices.azure.com/"
    assert set(deploy_keys()) - {"CONTAINER_REGISTRY_USERNAME", "CONTAINER_REGISTRY_PASSWORD"} <= set(values)
    # Every other line .env.example has (settings and comments) is kept as it was.
    keys = tuple(f"{key}=" for key in deploy_keys())
    example = [line for line in (infra_project / ".env.example").read_text().splitlines() if not line.startswith(keys)]
    assert [line for line in env_file.read_text().splitlines() if line in example] == example
    assert sorted(p.name for p in infra_project.glob(".env*")) == [".env", ".env.example"]  # no temporary file


def test_modules_are_set_and_the_manifest_hash_is_remembered(az_stub: AzStub, infra_project: Path) -> None:
    az_stub.run(DEPLOY, "--project-dir", str(infra_project))

    manifest = infra_project / "config" / "deployment.arm32v7.json"
    device = az_stub.state["devices"][f"{HUB}/central-pi"]
    assert device["iotEdge"] is True
    assert device["modules"] == json.loads(manifest.read_text())["modulesContent"]
    assert device["tags"]["centralEdge"]["manifest"] == hashlib.sha256(manifest.read_bytes()).hexdigest()


def test_second_run_changes_nothing_and_says_so(az_stub: AzStub, infra_project: Path) -> None:
    az_stub.run(DEPLOY, "--project-dir", str(infra_project))
    env_before = (infra_project / ".env").read_text()
    az_stub.clear_log()

    result = az_stub.run(DEPLOY, "--project-dir", str(infra_project))

    assert result.code == 0, result.output
    assert "Nothing to change" in result.stdout
    changing = [c for c in az_stub.commands() if c.split()[-1] in CHANGING]
    assert changing == []
    assert (infra_project / ".env").read_text() == env_before
    assert result.leaked_secrets() == []


def test_changed_parameters_are_deployed_again(az_stub: AzStub, infra_project: Path) -> None:
    az_stub.run(DEPLOY, "--project-dir", str(infra_project))
    az_stub.clear_log()

    result = az_stub.run(DEPLOY, "--project-dir", str(infra_project), "--vision-sku", "S1")

    assert result.code == 0, result.output
    assert "deployment group create" in az_stub.commands()
    assert "Done: 1 change(s) applied." in result.stdout


def test_failed_deployment_stops_before_any_key_is_read(az_stub: AzStub, infra_project: Path) -> None:
    az_stub.update(fail=["deployment group create"])

    result = az_stub.run(DEPLOY, "--project-dir", str(infra_project))

    assert result.code == 1
    assert "the Bicep deployment failed" in result.stderr
    assert "az deployment operation group list --resource-group central-edge-rg" in result.stderr
    assert az_stub.commands()[-1] == "deployment group create"
    assert not (infra_project / ".env").exists()
    assert result.leaked_secrets() == []


def test_failed_redeployment_leaves_the_existing_env_untouched(az_stub: AzStub, infra_project: Path) -> None:
    az_stub.run(DEPLOY, "--project-dir", str(infra_project))
    env_before = (infra_project / ".env").read_bytes()
    az_stub.update(fail=["deployment group create"])

    result = az_stub.run(DEPLOY, "--project-dir", str(infra_project), "--hub-sku", "F1")

    assert result.code == 1
    assert (infra_project / ".env").read_bytes() == env_before


def test_what_if_previews_without_changing_anything(az_stub: AzStub, infra_project: Path) -> None:
    absent = az_stub.run(DEPLOY, "--project-dir", str(infra_project), "--what-if")
    assert absent.code == 0
    assert "does not exist: everything would be created" in absent.stdout

    az_stub.run(DEPLOY, "--project-dir", str(infra_project))
    az_stub.clear_log()
    preview = az_stub.run(DEPLOY, "--project-dir", str(infra_project), "--what-if", "--hub-sku", "F1")

    assert preview.code == 0, preview.output
    assert az_stub.commands() == ["account show", "group show", "deployment group what-if"]
    assert "--no-pretty-print" not in az_stub.calls()[-1]
    assert "Modify" in preview.stdout
    assert preview.leaked_secrets() == []


def test_fleet_rollout_tags_the_device_and_creates_an_automatic_deployment(
    az_stub: AzStub, infra_project: Path
) -> None:
    result = az_stub.run(DEPLOY, "--project-dir", str(infra_project), "--fleet", "lab", "--priority", "20")

    assert result.code == 0, result.output
    commands = az_stub.commands()
    assert "iot edge set-modules" not in commands
    assert commands.index("iot hub device-twin update") < commands.index("iot edge deployment create")
    assert az_stub.state["devices"][f"{HUB}/central-pi"]["tags"] == {"fleet": "lab"}
    (deployment,) = az_stub.state["edge_deployments"][HUB].values()
    assert deployment["targetCondition"] == "tags.fleet='lab'"
    assert deployment["priority"] == 20
    assert deployment["id"].startswith("central-lab-")
    manifest = json.loads((infra_project / "config" / "deployment.arm32v7.json").read_text())
    assert deployment["content"] == manifest


def test_fleet_rollout_is_idempotent_and_replaces_an_older_manifest(az_stub: AzStub, infra_project: Path) -> None:
    az_stub.run(DEPLOY, "--project-dir", str(infra_project), "--fleet", "lab")
    first = set(az_stub.state["edge_deployments"][HUB])
    again = az_stub.run(DEPLOY, "--project-dir", str(infra_project), "--fleet", "lab")
    assert "Nothing to change" in again.stdout

    with (infra_project / ".env").open("a") as env:
        env.write("CONTAINER_TAG=v2\n")
    az_stub.run(DEPLOY, "--project-dir", str(infra_project), "--fleet", "lab")

    (current,) = az_stub.state["edge_deployments"][HUB].values()
    assert current["id"] not in first
    assert current["content"]["modulesContent"]["$edgeAgent"]["properties.desired"]["modules"]["camera"]["settings"][
        "image"
    ].endswith("0.1.0-v2-arm32v7")


def test_registry_gets_a_pull_token_once(az_stub: AzStub, infra_project: Path) -> None:
    result = az_stub.run(DEPLOY, "--project-dir", str(infra_project), "--registry")

    assert result.code == 0, result.output
    values = env_values(infra_project / ".env")
    assert values["CONTAINER_REGISTRY_SERVER"] == "centralacrx7k2q9.azurecr.io"
    assert values["CONTAINER_REGISTRY_USERNAME"] == "edge-pull"
    assert values["CONTAINER_REGISTRY_PASSWORD"] == SECRETS["registry_password"]
    assert "acr token create" in az_stub.commands()
    assert result.leaked_secrets() == []

    az_stub.clear_log()
    again = az_stub.run(DEPLOY, "--project-dir", str(infra_project), "--registry")
    assert "Nothing to change" in again.stdout
    assert [c for c in az_stub.commands() if c.startswith("acr")] == ["acr token show"]


def test_b1_is_refused_before_touching_azure(az_stub: AzStub, infra_project: Path) -> None:
    result = az_stub.run(DEPLOY, "--project-dir", str(infra_project), "--hub-sku", "B1")

    assert result.code == 2
    assert "B1 has no IoT Edge" in result.stderr
    assert az_stub.calls() == []


def test_not_logged_in_is_a_clear_error(az_stub: AzStub, infra_project: Path) -> None:
    az_stub.update(logged_in=False)

    result = az_stub.run(DEPLOY, "--project-dir", str(infra_project))

    assert result.code == 1
    assert "run 'az login' first" in result.stderr
    assert az_stub.commands() == ["account show"]


def test_help_lists_the_options(az_stub: AzStub) -> None:
    result = az_stub.run(DEPLOY, "--help")

    assert result.code == 0
    for flag in ("--resource-group", "--hub-sku", "--fleet", "--what-if", "--platform", "--device-id"):
        assert flag in result.stdout
    assert az_stub.calls() == []


def test_options_reach_the_bicep_parameters(az_stub: AzStub, infra_project: Path) -> None:
    result = az_stub.run(
        DEPLOY, "--project-dir", str(infra_project), "--hub-sku", "F1", "--archive-telemetry",
        "--retention-days", "7", "--prefix", "lab1", "-g", "course-rg", "-l", "northeurope",
    )  # fmt: skip

    assert result.code == 0, result.output
    create = next(c for c in az_stub.calls() if c[:3] == ["deployment", "group", "create"])
    for parameter in ("iotHubSku=F1", "routeTelemetryToStorage=true", "retentionDays=7", "namePrefix=lab1"):
        assert parameter in create
    assert option(create, "--resource-group") == "course-rg"
    assert az_stub.state["groups"]["course-rg"]["location"] == "northeurope"
    assert env_values(infra_project / ".env")["LOCATION"] == "northeurope"


def test_a_failing_genconfig_stops_before_the_modules(az_stub: AzStub, infra_project: Path) -> None:
    (infra_project / "deployment.template.json").unlink()

    result = az_stub.run(DEPLOY, "--project-dir", str(infra_project))

    assert result.code == 1
    assert "central genconfig failed; to see why, run:" in result.stderr
    assert "iot edge set-modules" not in az_stub.commands()
    assert result.leaked_secrets() == []


def test_an_existing_group_keeps_its_region(az_stub: AzStub, infra_project: Path) -> None:
    az_stub.run(DEPLOY, "--project-dir", str(infra_project), "-l", "northeurope")

    result = az_stub.run(DEPLOY, "--project-dir", str(infra_project), "-l", "westus")

    assert result.code == 0, result.output
    assert "Nothing to change" in result.stdout
    assert env_values(infra_project / ".env")["LOCATION"] == "northeurope"


def test_a_device_that_is_not_iot_edge_is_not_taken_over(az_stub: AzStub, infra_project: Path) -> None:
    az_stub.update(devices={f"{HUB}/central-pi": {"deviceId": "central-pi", "iotEdge": False, "tags": None}})

    result = az_stub.run(DEPLOY, "--project-dir", str(infra_project))

    assert result.code == 1
    assert "device central-pi exists but is not an IoT Edge device" in result.stderr
    assert "iot hub device-identity create" not in az_stub.commands()
    assert not (infra_project / ".env").exists()
