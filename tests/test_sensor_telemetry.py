"""Telemetry records: CPU-heat correction, shape and size, batching."""

from __future__ import annotations

import json
import re

import pytest
from sensor.boards.base import Reading
from sensor.telemetry import Batcher, TemperatureCorrection, alert_values, iso_now, telemetry_record

READING = Reading(
    temperature=30.0, humidity=45.123, pressure=1013.456, pitch=1.04, roll=359.9, yaw=90.0,
    accel_x=0.0104, accel_y=-0.02, accel_z=0.9987, cpu_temperature=45.0,
)  # fmt: skip


@pytest.mark.parametrize(
    ("correction", "sensed", "cpu", "expected"),
    [
        (TemperatureCorrection(0.0, 1.5), 30.0, 45.0, 20.0),  # 30 - (45 - 30) / 1.5
        (TemperatureCorrection(-1.0, 1.5), 30.0, 45.0, 19.0),  # offset added after the CPU part
        (TemperatureCorrection(0.0, 0.0), 30.0, 45.0, 30.0),  # factor 0: CPU part off
        (TemperatureCorrection(0.5, 1.5), 30.0, None, 30.5),  # CPU unknown: offset only
        (TemperatureCorrection(0.0, 1.5), 30.0, 25.0, 30.0),  # a cooler CPU cannot have heated the sensor
    ],
)
def test_temperature_correction(
    correction: TemperatureCorrection, sensed: float, cpu: float | None, expected: float
) -> None:
    assert correction.apply(sensed, cpu) == pytest.approx(expected)


def test_record_shape_rounding_and_size() -> None:
    record = telemetry_record(READING, 7, "2026-11-25T01:00:00.000Z", TemperatureCorrection())
    assert record == {
        "ts": "2026-11-25T01:00:00.000Z",
        "seq": 7,
        "temperature": 20.0,
        "temperature_raw": 30.0,
        "humidity": 45.1,
        "pressure": 1013.46,
        "orientation": {"pitch": 1.0, "roll": 359.9, "yaw": 90.0},
        "acceleration": {"x": 0.01, "y": -0.02, "z": 0.999},
    }
    assert len(json.dumps(record, separators=(",", ":")).encode()) < 512  # one F1 metering chunk


def test_alert_values_use_the_corrected_temperature() -> None:
    values = alert_values(READING, TemperatureCorrection())
    assert values["temperature"] == pytest.approx(20.0)
    assert values["accel_magnitude"] == pytest.approx((0.0104**2 + 0.02**2 + 0.9987**2) ** 0.5)


def test_iso_timestamp() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", iso_now())


def test_batcher_single_records_are_objects_and_batches_are_arrays() -> None:
    single = Batcher(1)
    assert single.add({"seq": 1}) == {"seq": 1}
    batch = Batcher(3)
    assert [batch.add({"seq": i}) for i in (1, 2, 3)] == [None, None, [{"seq": 1}, {"seq": 2}, {"seq": 3}]]
    assert batch.add({"seq": 4}) is None


def test_batcher_shrinking_flushes_what_is_pending() -> None:
    batch = Batcher(5)
    batch.add({"seq": 1})
    batch.size = 1
    assert batch.add({"seq": 2}) == [{"seq": 1}, {"seq": 2}]
