"""The official Sense HAT emulator (`sense-emu`), run headless.

`sense_emu.SenseHat` reads registers that the emulator keeps in /dev/shm, and
something must drive them. Normally that is the emulator GUI; when no GUI (or
other driver) holds the emulator lock, this board drives them itself: it takes
the lock and starts the pressure, humidity, IMU and joystick servers in-process,
which is how the GUI does it. Only then is `SenseHat()` created (without a
driver it would try to launch the GUI).

The registers are machine-global, so only one board may drive them at a time;
a file lock says so clearly instead of two boards silently overwriting each
other. A board that attaches to someone else's driver (the GUI, or a test
setting values through the servers) only reads.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from sense_emu import SenseHat
from sense_emu.humidity import HumidityServer
from sense_emu.imu import IMUServer
from sense_emu.lock import EmulatorLock
from sense_emu.pressure import PressureServer
from sense_emu.stick import StickServer

from sensor.boards.base import ACTIONS, DIRECTIONS
from sensor.boards.library import LibraryBoard

log = logging.getLogger(__name__)

_SHM = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())  # noqa: S108 - where sense-emu keeps its state too
DRIVER_GUARD = _SHM / "central-sense-emu-driver.lock"
# Linux evdev key codes and values, as the real joystick (and the emulator's stick server) send them.
_EV_KEY = 0x01
_KEY_CODES = {"up": 103, "down": 108, "left": 105, "right": 106, "middle": 28}
_KEY_VALUES = {"released": 0, "pressed": 1, "held": 2}


class EmulatorBusyError(RuntimeError):
    """Another process already drives the emulator's registers from this package."""


class _Driver:
    """The emulator servers, as the GUI would run them, holding the emulator lock."""

    def __init__(self, temperature: float, humidity: float, pressure: float, noise: bool) -> None:
        self._guard = self._take_guard()
        self.lock = EmulatorLock("sense_emu")
        self.lock.acquire()
        self.pressure = PressureServer(simulate_noise=noise)
        self.humidity = HumidityServer(simulate_noise=noise)
        # The IMU always runs its world thread: readers only accept samples with a new timestamp,
        # so without it the accelerometer would never report. `noise` covers pressure and humidity.
        self.imu = IMUServer(simulate_world=True)
        self.stick = StickServer()
        self.pressure.set_values(pressure, temperature)
        self.humidity.set_values(humidity, temperature)
        self.imu.set_orientation((0.0, 0.0, 0.0))

    @staticmethod
    def _take_guard() -> IO[str]:
        guard = DRIVER_GUARD.open("a")
        try:
            fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            guard.close()
            raise EmulatorBusyError(f"another sense-emu board drives the emulator (lock {DRIVER_GUARD})") from None
        return guard

    def close(self) -> None:
        for server in (self.stick, self.imu, self.humidity, self.pressure):
            server.close()
        if self.lock.mine:
            self.lock.release()
        self._guard.close()


class SenseEmuBoard(LibraryBoard):
    """`temperature`, `humidity`, `pressure` and `noise` (the emulator's sensor noise on pressure and
    humidity; off gives exact values) set up the emulator when this board drives it."""

    name = "sense-emu"

    def __init__(
        self, temperature: float = 21.0, humidity: float = 45.0, pressure: float = 1013.0, noise: bool = True
    ) -> None:
        self.driver: _Driver | None = None
        if EmulatorLock("sense_emu").wait(0):
            log.info("sense-emu: attaching to the emulator driven by another process")
        else:
            self.driver = _Driver(temperature, humidity, pressure, noise)
            log.info("sense-emu: driving the emulator in-process (pid %d)", os.getpid())
        try:
            hat: Any = SenseHat()
        except Exception:
            self._close_driver()
            raise
        super().__init__(hat)

    def press(self, direction: str, action: str = "pressed") -> None:
        """Push the emulated joystick through the emulator's own stick server."""
        if direction not in DIRECTIONS or action not in ACTIONS:
            raise ValueError(f"unknown joystick event {direction!r} {action!r}")
        if self.driver is None:
            raise RuntimeError("the emulator is driven by another process; press the joystick there")
        now = time.time()
        event = struct.pack("llHHI", int(now), int(now % 1 * 1e6), _EV_KEY, _KEY_CODES[direction], _KEY_VALUES[action])
        self.driver.stick.send(event)

    def _close_driver(self) -> None:
        if self.driver is not None:
            self.driver.close()
            self.driver = None

    def close(self) -> None:
        super().close()
        self._close_driver()
        # The emulator's stick client binds a socket per process and never removes it.
        (_SHM / f"rpi-sense-emu-client-{os.getpid()}").unlink(missing_ok=True)
