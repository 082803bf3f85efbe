"""infra/destroy.sh against the fake az: it deletes only what deploy.sh made, and only when confirmed."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.azstub import REPO, AzStub

# These run scripts and tools as processes.
pytestmark = pytest.mark.slow

DEPLOY = REPO / "infra" / "deploy.sh"
DESTROY = REPO / "infra" / "destroy.sh"
GROUP = "central-edge-rg"


@pytest.fixture
def deployed(az_stub: AzStub, infra_project: Path) -> Path:
    """A solution folder whose .env records a deployment that exists in the fake subscription."""
    result = az_stub.run(DEPLOY, "--project-dir", str(infra_project))
    assert result.code == 0, result.output
    az_stub.clear_log()
    return infra_project


def test_yes_deletes_the_recorded_group_and_purges_vision(az_stub: AzStub, deployed: Path) -> None:
    result = az_stub.run(DESTROY, "--project-dir", str(deployed), "--yes")

    assert result.code == 0, result.output
    assert az_stub.commands() == [
        "account show",
        "group show",
        "resource list",
        "cognitiveservices account list",
        "group delete",
        "cognitiveservices account purge",
    ]
    delete = az_stub.calls()[4]
    assert delete[delete.index("--name") + 1] == GROUP
    assert az_stub.state["groups"] == {}
    assert az_stub.state["purged"] == ["central-vision-x7k2q9"]
    assert "Microsoft.Devices/IotHubs  central-hub-x7k2q9" in result.stdout
    assert result.leaked_secrets() == []


def test_env_goes_back_to_the_example_defaults(az_stub: AzStub, deployed: Path) -> None:
    az_stub.run(DESTROY, "--project-dir", str(deployed), "--yes")

    assert (deployed / ".env").read_text() == (deployed / ".env.example").read_text()


def test_refuses_without_confirmation_when_stdin_is_not_a_terminal(az_stub: AzStub, deployed: Path) -> None:
    result = az_stub.run(DESTROY, "--project-dir", str(deployed), stdin="central-edge-rg\n")

    assert result.code == 1
    assert "stdin is not a terminal; pass --yes" in result.stderr
    assert "group delete" not in az_stub.commands()
    assert GROUP in az_stub.state["groups"]


def run_on_terminal(az_stub: AzStub, project: Path, typed: str) -> subprocess.CompletedProcess[str]:
    """destroy.sh with a pseudo-terminal as stdin, on which `typed` has been entered."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, typed.encode())
        return subprocess.run(
            ["bash", str(DESTROY), "--project-dir", str(project)],
            stdin=terminal,
            capture_output=True,
            text=True,
            env=az_stub.env(),
            timeout=60,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)


def test_typing_the_group_name_confirms(az_stub: AzStub, deployed: Path) -> None:
    result = run_on_terminal(az_stub, deployed, f"{GROUP}\n")

    assert result.returncode == 0, result.stdout + result.stderr
    assert az_stub.state["groups"] == {}


def test_typing_anything_else_deletes_nothing(az_stub: AzStub, deployed: Path) -> None:
    result = run_on_terminal(az_stub, deployed, "yes\n")

    assert result.returncode == 1
    assert "not confirmed; nothing was deleted" in result.stderr
    assert GROUP in az_stub.state["groups"]


def test_a_group_deploy_did_not_create_is_left_alone(az_stub: AzStub, infra_project: Path) -> None:
    state = az_stub.state
    state["groups"]["shared-rg"] = {"name": "shared-rg", "location": "westeurope", "tags": {"owner": "course"}}
    az_stub.update(groups=state["groups"])
    (infra_project / ".env").write_text("RESOURCE_GROUP=shared-rg\n")

    result = az_stub.run(DESTROY, "--project-dir", str(infra_project), "--yes")

    assert result.code == 1
    assert "was not created by deploy.sh" in result.stderr
    assert "shared-rg" in az_stub.state["groups"]


def test_a_missing_group_means_nothing_to_delete(az_stub: AzStub, deployed: Path) -> None:
    az_stub.run(DESTROY, "--project-dir", str(deployed), "--yes")
    (deployed / ".env.example").unlink()
    (deployed / ".env").write_text(f"RESOURCE_GROUP={GROUP}\nKEEP=1\n")

    again = az_stub.run(DESTROY, "--project-dir", str(deployed), "--yes")

    assert again.code == 0, again.output
    assert "does not exist: nothing to delete" in again.stdout
    assert (deployed / ".env").read_text() == "KEEP=1\n"


def test_without_a_recorded_group_it_asks_for_one(az_stub: AzStub, infra_project: Path) -> None:
    result = az_stub.run(DESTROY, "--project-dir", str(infra_project), "--yes")

    assert result.code == 2
    assert "pass --resource-group" in result.stderr
    assert az_stub.calls() == []
