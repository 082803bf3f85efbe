"""The real Sense HAT on a Raspberry Pi (I2C sensors, framebuffer LEDs, evdev joystick).

Imported only when `SENSE_BACKEND=sense-hat`: the `sense_hat` library needs
RTIMULib, which exists only on the Pi.
"""

from __future__ import annotations

from sense_hat import SenseHat

from sensor.boards.library import LibraryBoard


class SenseHatBoard(LibraryBoard):
    name = "sense-hat"

    def __init__(self) -> None:
        super().__init__(SenseHat())
