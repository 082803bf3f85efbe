"""The sense-emu backend against the official emulator's own servers (no GUI, no hub)."""

from __future__ import annotations

import asyncio
import fcntl
import time

import pytest
from sense_emu.humidity import HumidityServer
from sense_emu.lock import EmulatorLock
from sense_emu.pressure import PressureServer
from sensor.boards.base import JoystickEvent
from sensor.boards.sense_emu import DRIVER_GUARD, EmulatorBusyError, SenseEmuBoard

pytestmark = pytest.mark.usefixtures("sense_emu_exclusive")


def test_board_drives_the_emulator_itself_when_no_one_else_does() -> None:
    board = SenseEmuBoard(temperature=31.5, humidity=62.0, pressure=987.0, noise=False)
    try:
        assert board.driver is not None and EmulatorLock("sense_emu").mine
        time.sleep(0.4)  # the IMU server averages its last 10 samples (60 Hz) and starts from zero
        reading = board.read()
        assert reading.temperature == pytest.approx(31.5, abs=0.1)
        assert reading.humidity == pytest.approx(62.0, abs=0.1)
        assert reading.pressure == pytest.approx(987.0, abs=0.1)
        assert reading.accel_magnitude == pytest.approx(1.0, abs=0.05)
        board.set_pixels([(255, 0, 0)] * 64)
        assert board.get_pixels()[0][0] > 200  # the emulator stores RGB565, so 255 comes back as 248
        reader = SenseEmuBoard()  # the emulator is driven now, so a second board only reads
        assert reader.driver is None
        reader.close()
    finally:
        board.close()
    assert not EmulatorLock("sense_emu").wait(0)  # released for the next driver


def test_two_boards_starting_together_cannot_both_drive() -> None:
    with DRIVER_GUARD.open("a") as other_driver:
        fcntl.flock(other_driver, fcntl.LOCK_EX)  # another process is half-way through starting its servers
        with pytest.raises(EmulatorBusyError, match="another sense-emu board"):
            SenseEmuBoard()
    assert not EmulatorLock("sense_emu").wait(0)


def test_joystick_presses_travel_through_the_emulator_stick_server() -> None:
    board = SenseEmuBoard(noise=False)

    async def press() -> JoystickEvent:
        board.start_joystick(asyncio.get_running_loop())
        await asyncio.sleep(1.2)  # the emulator's stick client says hello once a second
        board.press("middle")
        return await asyncio.wait_for(board.next_joystick_event(), 5)

    try:
        assert asyncio.run(press()) == JoystickEvent("middle", "pressed")
    finally:
        board.close()


def test_board_attaches_to_a_driver_in_another_role_and_reads_what_it_sets() -> None:
    """What the emulator GUI does, done by the test: hold the lock and set values through the servers."""
    lock = EmulatorLock("sense_emu")
    lock.acquire()
    pressure, humidity = PressureServer(simulate_noise=False), HumidityServer(simulate_noise=False)
    try:
        pressure.set_values(1001.0, 18.0)
        humidity.set_values(33.0, 18.0)
        board = SenseEmuBoard()
        try:
            assert board.driver is None
            assert (board.read().pressure, board.read().humidity) == pytest.approx((1001.0, 33.0), abs=0.1)
            humidity.set_values(71.0, 24.0)
            time.sleep(0.05)
            reading = board.read()
            assert (reading.humidity, reading.temperature) == pytest.approx((71.0, 24.0), abs=0.1)
            with pytest.raises(RuntimeError, match="driven by another process"):
                board.press("middle")
        finally:
            board.close()
    finally:
        pressure.close()
        humidity.close()
        lock.release()
