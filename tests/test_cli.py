"""The CLI's own contract: every command registers, and usage errors exit 2."""

import pytest

from central.cli import build_parser, main


def test_every_command_module_registers() -> None:
    parser = build_parser()
    assert parser.prog == "central"


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2
