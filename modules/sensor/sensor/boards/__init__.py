"""Sense HAT backends, chosen by `SENSE_BACKEND` and imported only when chosen."""

from collections.abc import Mapping
from typing import Any

from edgekit import BackendRegistry
from sensor.boards.base import SenseBoard

BOARDS: BackendRegistry[SenseBoard] = BackendRegistry("sense board")
BOARDS.register("simulated", "sensor.boards.simulated:SimulatedBoard", needs="nothing beyond the module")
BOARDS.register(
    "sense-hat", "sensor.boards.sense_hat:SenseHatBoard", needs="the sense-hat package and RTIMULib (Raspberry Pi only)"
)
BOARDS.register("sense-emu", "sensor.boards.sense_emu:SenseEmuBoard", needs="the sense-emu package")


def board_from_env(environ: Mapping[str, str]) -> SenseBoard:
    """The board `SENSE_BACKEND` names (default `simulated`), with `SENSE_SEED` and `SENSE_FAIL_RATE` for the simulation."""
    name = environ.get("SENSE_BACKEND", "simulated").strip() or "simulated"
    options: dict[str, Any] = {}
    if name == "simulated":
        options["seed"] = _number(environ, "SENSE_SEED", int, 0)
        options["failure_rate"] = _number(environ, "SENSE_FAIL_RATE", float, 0.0)
    return BOARDS.create(name, **options)


def _number(environ: Mapping[str, str], key: str, kind: type[int] | type[float], default: float) -> Any:
    raw = environ.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{key}: expected a number, got {raw!r}") from None
