"""The `SenseBoard` interface every Sense HAT backend implements.

The module only needs four things from the hardware: one reading of all
sensors, an 8x8 RGB matrix to draw on, and a stream of joystick events. Keeping
the interface that small lets the real board, the official emulator and the
seeded simulation stand in for each other without the module noticing.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

RGB = tuple[int, int, int]
Frame = list[RGB]  # 64 pixels, row by row from the top-left, like SenseHat.set_pixels

DIRECTIONS = ("up", "down", "left", "right", "middle")
ACTIONS = ("pressed", "released", "held")
CPU_THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")


class ReadError(RuntimeError):
    """A sensor read failed; the caller logs and counts it and tries again next interval."""


@dataclass(frozen=True)
class Reading:
    """One sample of every sensor, in the Sense HAT's own units.

    `temperature` is what the humidity sensor reports, which on a Pi runs warm
    from the CPU below it; `cpu_temperature` (None when unknown) lets the
    telemetry correct for that.
    """

    temperature: float  # °C, uncorrected
    humidity: float  # % relative humidity
    pressure: float  # hPa
    pitch: float  # degrees 0-360
    roll: float
    yaw: float
    accel_x: float  # g
    accel_y: float
    accel_z: float
    cpu_temperature: float | None = None

    @property
    def accel_magnitude(self) -> float:
        return float((self.accel_x**2 + self.accel_y**2 + self.accel_z**2) ** 0.5)


@dataclass(frozen=True)
class JoystickEvent:
    direction: str  # one of DIRECTIONS
    action: str  # one of ACTIONS


def read_cpu_temperature(zone: Path = CPU_THERMAL_ZONE) -> float | None:
    """The SoC temperature in °C from sysfs, or None where there is no such zone (containers, laptops)."""
    try:
        return int(zone.read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None


class SenseBoard(ABC):
    """A Sense HAT: sensors, LED matrix and joystick.

    `read` and `set_pixels` may block for a few milliseconds on I2C or the
    framebuffer, so the module calls them from a worker thread. Joystick events
    arrive on an asyncio queue that backends fill from their own threads through
    `_post_event`, so a press is never lost between two polls.
    """

    name: str = ""

    def __init__(self) -> None:
        self._events: asyncio.Queue[JoystickEvent] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @abstractmethod
    def read(self) -> Reading:
        """Read every sensor once; raises `ReadError` when the hardware does not answer."""

    @abstractmethod
    def set_pixels(self, frame: Frame) -> None:
        """Show 64 RGB pixels on the matrix."""

    @abstractmethod
    def get_pixels(self) -> Frame:
        """What the matrix shows now."""

    def close(self) -> None:  # noqa: B027 - backends without resources need nothing here
        """Release threads, files and emulator state."""

    def start_joystick(self, loop: asyncio.AbstractEventLoop) -> None:
        """Begin delivering joystick events to `loop`; backends with a reader thread start it here."""
        self._loop = loop
        self._events = asyncio.Queue()

    async def next_joystick_event(self) -> JoystickEvent:
        if self._events is None:
            raise RuntimeError("start_joystick was not called")
        return await self._events.get()

    def _post_event(self, event: JoystickEvent) -> None:
        """Thread-safe: hand one joystick event to the module's loop (dropped before `start_joystick`)."""
        if self._loop is None or self._events is None:
            return
        self._loop.call_soon_threadsafe(self._events.put_nowait, event)
