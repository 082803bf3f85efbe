"""The simulated board: deterministic, physically plausible, with injectable presses and failures."""

from __future__ import annotations

import asyncio
import itertools
import statistics

import pytest
from sensor.boards import BOARDS, board_from_env
from sensor.boards.base import JoystickEvent, ReadError
from sensor.boards.simulated import CPU_HEAT_FACTOR, SHAKE_SLOT_S, Physics, SimulatedBoard
from sensor.telemetry import TemperatureCorrection

DAY = 86_400.0
T0 = 1_790_000_000.0 - 1_790_000_000.0 % DAY  # a UTC midnight


def test_same_seed_same_readings_other_seed_other_readings() -> None:
    times = [T0 + i * 37.5 for i in range(50)]
    assert [Physics(3).sample(t) for t in times] == [Physics(3).sample(t) for t in times]
    assert [Physics(3).sample(t) for t in times] != [Physics(4).sample(t) for t in times]


def test_daily_cycle_warmest_in_the_afternoon_and_humidity_moves_against_it() -> None:
    physics = Physics(1)
    hours = [T0 + h * 3600 for h in range(24)]
    temps = [physics.ambient_temperature(t) for t in hours]
    assert temps.index(max(temps)) in range(12, 19)
    assert temps.index(min(temps)) in (*range(0, 7), *range(22, 24))
    assert max(temps) - min(temps) > 5
    humid = [physics.humidity(t) for t in hours]
    assert statistics.correlation(temps, humid) < -0.99


def test_pressure_drifts_slowly_within_weather_range() -> None:
    physics = Physics(2)
    pressures = [physics.pressure(T0 + m * 60) for m in range(0, 7 * 24 * 60, 30)]
    assert min(pressures) >= 1013 - 6 * 1.8 and max(pressures) <= 1013 + 6 * 1.8
    steps = [abs(b - a) for a, b in itertools.pairwise(pressures)]
    assert max(steps) < 1.0  # hPa per half hour: weather, not jumps
    assert max(pressures) - min(pressures) > 5


def test_sensor_reads_warm_and_the_default_correction_undoes_it() -> None:
    physics = Physics(5)
    errors = []
    for i in range(200):
        t = T0 + i * 431.0
        reading = physics.sample(t)
        assert reading.temperature - physics.ambient_temperature(t) > 5  # CPU heat
        corrected = TemperatureCorrection(0.0, CPU_HEAT_FACTOR).apply(reading.temperature, reading.cpu_temperature)
        errors.append(corrected - physics.ambient_temperature(t))
    assert abs(statistics.mean(errors)) < 0.2 and statistics.stdev(errors) < 1.0


def test_noise_is_small_and_present() -> None:
    physics = Physics(6)
    samples = [physics.sample(T0 + 3600 + i * 0.5) for i in range(40)]
    humidity = [s.humidity for s in samples]
    assert 0 < statistics.stdev(humidity) < 2


def test_occasional_shakes_show_on_the_accelerometer_only_inside_their_window() -> None:
    physics = Physics(7)
    windows = [w for slot in range(96) if (w := physics.shake_window(T0 + slot * SHAKE_SLOT_S)) is not None]
    assert 20 < len(windows) < 76  # about half the slots in a day
    start, end = windows[0]
    shaking = [physics.sample(start + i * 0.1).accel_magnitude for i in range(int((end - start) * 10))]
    assert max(shaking) > 2.0
    still = physics.sample(end + 5)
    assert abs(still.accel_magnitude - 1.0) < 0.1


def test_failure_rate_makes_reads_fail_deterministically() -> None:
    board = SimulatedBoard(seed=1, failure_rate=0.5, clock=lambda: T0)

    def outcomes() -> list[bool]:
        results = []
        for _ in range(40):
            try:
                board.read()
                results.append(True)
            except ReadError:
                results.append(False)
        return results

    first = outcomes()
    assert 5 < first.count(False) < 35
    board = SimulatedBoard(seed=1, failure_rate=0.5, clock=lambda: T0)
    assert outcomes() == first


def test_matrix_and_injected_presses() -> None:
    board = SimulatedBoard()
    board.set_pixels([(1, 2, 3)] * 64)
    assert board.get_pixels() == [(1, 2, 3)] * 64
    with pytest.raises(ValueError, match="64 pixels"):
        board.set_pixels([(0, 0, 0)])
    with pytest.raises(ValueError, match="direction"):
        board.press("sideways")

    async def press_and_receive() -> JoystickEvent:
        board.start_joystick(asyncio.get_running_loop())
        board.press("middle")
        return await asyncio.wait_for(board.next_joystick_event(), 2)

    assert asyncio.run(press_and_receive()) == JoystickEvent("middle", "pressed")


def test_board_from_env_and_clear_errors() -> None:
    board = board_from_env({"SENSE_SEED": "9"})
    assert isinstance(board, SimulatedBoard) and board.physics.seed == 9
    with pytest.raises(ValueError, match="SENSE_SEED"):
        board_from_env({"SENSE_SEED": "nine"})
    with pytest.raises(ValueError, match="unknown sense board backend 'hat'"):
        board_from_env({"SENSE_BACKEND": "hat"})
    assert BOARDS.names == ["sense-emu", "sense-hat", "simulated"]
