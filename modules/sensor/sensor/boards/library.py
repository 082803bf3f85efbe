"""A board backed by a `SenseHat` object: the real library or the official emulator.

`sense_hat.SenseHat` and `sense_emu.SenseHat` share one API, so both backends
read, draw and listen the same way and differ only in how the object is made.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from typing import Any

from sensor.boards.base import (
    ACTIONS,
    DIRECTIONS,
    Frame,
    JoystickEvent,
    ReadError,
    Reading,
    SenseBoard,
    read_cpu_temperature,
)

log = logging.getLogger(__name__)


class LibraryBoard(SenseBoard):
    def __init__(self, hat: Any) -> None:
        super().__init__()
        self.hat = hat
        self._closed = threading.Event()
        self._lock = threading.Lock()  # the library is not thread-safe; reads and drawing share one bus

    def read(self) -> Reading:
        try:
            with self._lock:
                orientation = self.hat.get_orientation_degrees()
                accel = self.hat.get_accelerometer_raw()
                values = {
                    "temperature": float(self.hat.get_temperature()),
                    "humidity": float(self.hat.get_humidity()),
                    "pressure": float(self.hat.get_pressure()),
                }
        except (OSError, ValueError, RuntimeError, KeyError) as e:
            raise ReadError(f"{type(e).__name__}: {e}") from e
        for field, value in values.items():
            if math.isnan(value):
                raise ReadError(f"{field} sensor gave no value")
        # The pressure sensor reports 0 until its first conversion completes.
        if values["pressure"] <= 0:
            raise ReadError("pressure sensor not ready")
        return Reading(
            **values,
            pitch=float(orientation["pitch"]),
            roll=float(orientation["roll"]),
            yaw=float(orientation["yaw"]),
            accel_x=float(accel["x"]),
            accel_y=float(accel["y"]),
            accel_z=float(accel["z"]),
            cpu_temperature=read_cpu_temperature(),
        )

    def set_pixels(self, frame: Frame) -> None:
        with self._lock:
            self.hat.set_pixels([list(p) for p in frame])

    def get_pixels(self) -> Frame:
        with self._lock:
            return [tuple(p) for p in self.hat.get_pixels()]  # type: ignore[misc]

    def start_joystick(self, loop: asyncio.AbstractEventLoop) -> None:
        super().start_joystick(loop)
        # wait_for_event blocks in select(); a daemon thread lets the process exit while it waits.
        threading.Thread(target=self._read_joystick, name="joystick", daemon=True).start()

    def _read_joystick(self) -> None:
        while not self._closed.is_set():
            try:
                event = self.hat.stick.wait_for_event()
            except (OSError, ValueError, AttributeError):
                if not self._closed.is_set():
                    log.exception("joystick read failed; joystick disabled")
                return
            if event is not None and event.direction in DIRECTIONS and event.action in ACTIONS:
                self._post_event(JoystickEvent(event.direction, event.action))

    def close(self) -> None:
        self._closed.set()
        self.hat.stick.close()
