"""The CLI's own contract: every command registers, and usage errors exit 2."""

import argparse
from pathlib import Path

import pytest

from central.cli import build_parser, main


def test_every_command_module_registers() -> None:
    commands = Path(__file__).resolve().parents[1] / "src" / "central" / "commands"
    expected = {p.stem for p in commands.glob("*.py") if not p.stem.startswith("_")}
    [sub] = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(sub.choices) == expected
    assert {"up", "status", "invoke", "twin", "monitor", "logs", "validate"} <= expected


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
