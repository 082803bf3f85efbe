"""A simulated Sense HAT: the default off the device.

The readings come from a small physical model that is a pure function of the
seed and the time, so a test can ask what the board will read at any instant
and get the same answer every run:

- ambient temperature follows a daily cycle (coolest before dawn, warmest mid
  afternoon, UTC hours) plus slow weather;
- relative humidity moves against temperature (warm air holds more water, so
  the same water is a lower percentage);
- pressure drifts slowly around 1013 hPa with the weather;
- the sensor reads warm because the CPU below heats it, the bias the telemetry
  corrects (the model uses the default correction factor, so the defaults undo it);
- every value carries sensor noise, and now and then the board is shaken
  (a short burst of large accelerations).

The LED matrix is kept as 64 pixels and joystick presses are injected with `press`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

from sensor.boards.base import ACTIONS, DIRECTIONS, Frame, JoystickEvent, ReadError, Reading, SenseBoard

DAY_S = 86_400.0
CPU_HEAT_FACTOR = 1.5  # same as the default `temperature_cpu_factor` setting
SHAKE_SLOT_S = 900.0  # at most one shake per slot; about half the slots have one
SHAKE_DURATION_S = 2.0
SHAKE_AMPLITUDE_G = 2.5
SHAKE_HZ = 6.0
# (period in seconds, amplitude) of the slow waves that make up the "weather"; phases come from the seed.
Waves = tuple[tuple[float, float], ...]
_TEMPERATURE_WAVES: Waves = ((5.3 * 3600, 0.3), (13.0 * 3600, 0.5), (2.7 * DAY_S, 1.0))
_PRESSURE_WAVES: Waves = ((13.0 * 3600, 0.2), (2.7 * DAY_S, 1.0), (6.1 * DAY_S, 0.6))  # fronts pass in days


def _wave(t: float, waves: Waves, phases: list[float]) -> float:
    """A smooth value within ±(sum of amplitudes) that changes over hours and days."""
    return sum(
        amp * math.sin(2 * math.pi * t / period + phase) for (period, amp), phase in zip(waves, phases, strict=True)
    )


class Physics:
    """The environment the simulated board sits in; `sample(t)` depends only on the seed and t."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        phases = random.Random(f"{seed}:phases")  # noqa: S311 - simulation noise, not security
        self._temp_phases = [phases.uniform(0, 2 * math.pi) for _ in _TEMPERATURE_WAVES]
        self._pressure_phases = [phases.uniform(0, 2 * math.pi) for _ in _PRESSURE_WAVES]

    def ambient_temperature(self, t: float) -> float:
        hour = (t % DAY_S) / 3600.0
        return (
            20.0
            + 4.0 * math.cos(2 * math.pi * (hour - 15.0) / 24.0)
            + 1.5 * _wave(t, _TEMPERATURE_WAVES, self._temp_phases)
        )

    def humidity(self, t: float) -> float:
        return min(100.0, max(5.0, 50.0 - 2.5 * (self.ambient_temperature(t) - 20.0)))

    def pressure(self, t: float) -> float:
        return 1013.0 + 6.0 * _wave(t, _PRESSURE_WAVES, self._pressure_phases)

    def cpu_temperature(self, t: float) -> float:
        return self.ambient_temperature(t) + 22.0 + 3.0 * math.sin(2 * math.pi * t / 600.0)

    def shake_window(self, t: float) -> tuple[float, float] | None:
        """The (start, end) of the shake in t's slot, if that slot has one."""
        slot = math.floor(t / SHAKE_SLOT_S)
        rng = random.Random(f"{self.seed}:shake:{slot}")  # noqa: S311 - simulation noise, not security
        if rng.random() >= 0.5:
            return None
        start = slot * SHAKE_SLOT_S + rng.uniform(0, SHAKE_SLOT_S - SHAKE_DURATION_S)
        return start, start + SHAKE_DURATION_S

    def acceleration(self, t: float) -> tuple[float, float, float]:
        window = self.shake_window(t)
        if window is None or not window[0] <= t < window[1]:
            return 0.0, 0.0, 1.0
        phase = 2 * math.pi * SHAKE_HZ * (t - window[0])
        return SHAKE_AMPLITUDE_G * math.sin(phase), SHAKE_AMPLITUDE_G * math.cos(phase), 1.0 + 0.5 * math.sin(2 * phase)

    def sample(self, t: float) -> Reading:
        noise = random.Random(f"{self.seed}:noise:{round(t, 2)}")  # noqa: S311 - simulation noise, not security
        ambient = self.ambient_temperature(t)
        cpu = self.cpu_temperature(t)
        sensed = ambient + (cpu - ambient) / (1.0 + CPU_HEAT_FACTOR)
        ax, ay, az = self.acceleration(t)
        return Reading(
            temperature=sensed + noise.gauss(0, 0.1),
            humidity=min(100.0, max(0.0, self.humidity(t) + noise.gauss(0, 0.5))),
            pressure=self.pressure(t) + noise.gauss(0, 0.05),
            pitch=noise.gauss(0, 0.3) % 360.0,
            roll=noise.gauss(0, 0.3) % 360.0,
            yaw=(90.0 + noise.gauss(0, 1.0)) % 360.0,
            accel_x=ax + noise.gauss(0, 0.01),
            accel_y=ay + noise.gauss(0, 0.01),
            accel_z=az + noise.gauss(0, 0.01),
            cpu_temperature=cpu + noise.gauss(0, 0.2),
        )


class SimulatedBoard(SenseBoard):
    """`failure_rate` (0-1) makes that share of reads fail, so the module's handling of a bad bus can be seen."""

    name = "simulated"

    def __init__(self, seed: int = 0, failure_rate: float = 0.0, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError(f"failure_rate must be between 0 and 1, got {failure_rate}")
        self.physics = Physics(seed)
        self._failures = random.Random(f"{seed}:failures")  # noqa: S311 - simulation noise, not security
        self._failure_rate = failure_rate
        self._clock = clock
        self._pixels: Frame = [(0, 0, 0)] * 64

    def read(self) -> Reading:
        if self._failure_rate and self._failures.random() < self._failure_rate:
            raise ReadError("simulated I2C read failure")
        return self.physics.sample(self._clock())

    def set_pixels(self, frame: Frame) -> None:
        if len(frame) != 64:
            raise ValueError(f"a frame has 64 pixels, got {len(frame)}")
        self._pixels = [tuple(p) for p in frame]  # type: ignore[misc]

    def get_pixels(self) -> Frame:
        return list(self._pixels)

    def press(self, direction: str, action: str = "pressed") -> None:
        """Inject a joystick event, as if the stick had been pushed."""
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown joystick direction {direction!r}; choose one of {', '.join(DIRECTIONS)}")
        if action not in ACTIONS:
            raise ValueError(f"unknown joystick action {action!r}; choose one of {', '.join(ACTIONS)}")
        self._post_event(JoystickEvent(direction, action))
