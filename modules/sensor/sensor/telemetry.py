"""Telemetry records: the corrected temperature, rounding, timestamps and batching.

The Sense HAT sits on the Pi's CPU and reads several degrees warm. The usual
correction estimates the ambient temperature from how far the CPU is above the
sensor: `t = t_sensor - (t_cpu - t_sensor) / factor`, then adds a fixed
offset. Both are twin settings because the right factor depends on the case,
the airflow and the load; factor 0 turns the CPU part off (the offset still
applies), and so does a CPU temperature that is unknown.

Values are rounded to what the sensors resolve, which also keeps a record far
below the 0.5 KB chunk that IoT Hub F1 meters by.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sensor.boards.base import Reading


@dataclass(frozen=True)
class TemperatureCorrection:
    offset_c: float = 0.0
    cpu_factor: float = 1.5

    def apply(self, sensed: float, cpu: float | None) -> float:
        corrected = sensed
        if cpu is not None and self.cpu_factor > 0 and cpu > sensed:
            corrected = sensed - (cpu - sensed) / self.cpu_factor
        return corrected + self.offset_c


def iso_now() -> str:
    """An ISO-8601 UTC timestamp with milliseconds, e.g. 2026-11-25T01:30:00.123Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def telemetry_record(reading: Reading, seq: int, ts: str, correction: TemperatureCorrection) -> dict[str, Any]:
    return {
        "ts": ts,
        "seq": seq,
        "temperature": round(correction.apply(reading.temperature, reading.cpu_temperature), 2),
        "temperature_raw": round(reading.temperature, 2),
        "humidity": round(reading.humidity, 1),
        "pressure": round(reading.pressure, 2),
        "orientation": {"pitch": round(reading.pitch, 1), "roll": round(reading.roll, 1), "yaw": round(reading.yaw, 1)},
        "acceleration": {
            "x": round(reading.accel_x, 3),
            "y": round(reading.accel_y, 3),
            "z": round(reading.accel_z, 3),
        },
    }


def alert_values(reading: Reading, correction: TemperatureCorrection) -> dict[str, float]:
    """The values alert rules compare: the corrected temperature, like the telemetry shows."""
    return {
        "temperature": correction.apply(reading.temperature, reading.cpu_temperature),
        "humidity": reading.humidity,
        "pressure": reading.pressure,
        "accel_magnitude": reading.accel_magnitude,
    }


class Batcher:
    """Collects records until `size` are there. A batch is sent as a JSON array, a single record as an object.

    Batching saves quota only where metering chunks are larger than a record:
    on S1 (4 KB chunks) ten records cost one message instead of ten; on F1
    (0.5 KB chunks) about two records fit a chunk, so it saves at most half.
    """

    def __init__(self, size: int = 1) -> None:
        self.size = size
        self._pending: list[dict[str, Any]] = []

    def add(self, record: dict[str, Any]) -> dict[str, Any] | list[dict[str, Any]] | None:
        """The body to send now, or None while the batch is filling."""
        self._pending.append(record)
        if len(self._pending) < self.size:
            return None
        batch, self._pending = self._pending, []
        return batch[0] if self.size == 1 and len(batch) == 1 else batch
