"""Route sinks edgeHub accepts: `$upstream` and `BrokeredEndpoint("/modules/{m}/inputs/{i}")`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

UPSTREAM_ENDPOINT: Final = "$upstream"
_MODULE_INPUT: Final = re.compile(r"/modules/([^/]+)/inputs/([^/]+)")


@dataclass(frozen=True)
class Upstream:
    """`$upstream`: to IoT Hub; locally, the upstream log the CLI and the dashboard read."""

    @property
    def endpoint(self) -> str:
        return UPSTREAM_ENDPOINT

    def __str__(self) -> str:
        return UPSTREAM_ENDPOINT


@dataclass(frozen=True)
class ModuleInput:
    """`BrokeredEndpoint("/modules/{module}/inputs/{input}")`: an input of a module on this device."""

    module: str
    input: str

    @property
    def endpoint(self) -> str:
        return f"/modules/{self.module}/inputs/{self.input}"

    def __str__(self) -> str:
        return f'BrokeredEndpoint("{self.endpoint}")'


Sink = Upstream | ModuleInput


def module_input(address: str) -> ModuleInput | None:
    """The module input a BrokeredEndpoint address names, or None when it names none."""
    match = _MODULE_INPUT.fullmatch(address)
    return None if match is None else ModuleInput(match.group(1), match.group(2))


def parse_endpoint(endpoint: str) -> Sink:
    """The sink of an endpoint string as the store keeps it (`$upstream` or `/modules/m/inputs/i`)."""
    if endpoint == UPSTREAM_ENDPOINT:
        return Upstream()
    sink = module_input(endpoint)
    if sink is None:
        raise ValueError(f"not an endpoint: {endpoint!r}")
    return sink
