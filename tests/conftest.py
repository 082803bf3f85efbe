"""Shared pytest set-up: every module in tests/fixtures is a pytest plugin.

Helpers that several test files need (a hub on its own loopback address, Azurite,
a running module process) live there, one file per thing they start.
"""

from pathlib import Path

import pytest

# Fixture modules import one another; rewrite their asserts before anything imports them.
pytest.register_assert_rewrite("tests.fixtures")

pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}" for p in (Path(__file__).parent / "fixtures").glob("*.py") if p.stem != "__init__"
)
