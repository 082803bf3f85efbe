"""The sampling loop on the simulated board, with the module's send and report replaced by lists."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from sensor.boards.base import ReadError, Reading
from sensor.boards.simulated import SimulatedBoard
from sensor.sampler import Sampler
from sensor.settings import DEFAULTS

from tests.fixtures.sensor_module import TELEMETRY_FIELDS

STILL = Reading(21.0, 40.0, 1013.0, 0.0, 0.0, 90.0, 0.0, 0.0, 1.0, None)


class Outbox:
    def __init__(self, fail_sends: int = 0, fail_reports: int = 0) -> None:
        self.sent: list[tuple[str, Any]] = []
        self.reports: list[dict[str, Any]] = []
        self.fail_sends = fail_sends
        self.fail_reports = fail_reports

    async def send(self, output: str, body: Any) -> None:
        if self.fail_sends:
            self.fail_sends -= 1
            raise ConnectionError("hub unreachable")
        self.sent.append((output, body))

    async def report(self, patch: dict[str, Any]) -> None:
        if self.fail_reports:
            self.fail_reports -= 1
            raise ConnectionError("hub unreachable")
        self.reports.append(patch)

    def on(self, output: str) -> list[Any]:
        return [body for name, body in self.sent if name == output]


def settings(**overrides: Any) -> dict[str, Any]:
    return {**DEFAULTS, **overrides}


async def run_for(sampler: Sampler, seconds: float) -> None:
    """Run the loop for `seconds`; it must still be running then (what ended it early is raised)."""
    task = asyncio.create_task(sampler.run())
    await asyncio.sleep(seconds)
    if task.done():
        task.result()
        raise AssertionError("the sampling loop ended on its own")
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_telemetry_follows_the_interval_and_samples_in_between() -> None:
    box = Outbox()
    sampler = Sampler(SimulatedBoard(seed=1), box.send, box.report)
    sampler.configure(settings(telemetry_interval_s=0.2, sample_interval_s=0.05))
    asyncio.run(run_for(sampler, 1.05))
    seqs = [body["seq"] for body in box.on("telemetry")]
    assert seqs == list(range(1, len(seqs) + 1)) and 5 <= len(seqs) <= 7


def test_telemetry_timestamps_and_fields() -> None:
    box = Outbox()
    sampler = Sampler(SimulatedBoard(seed=1), box.send, box.report, clock=lambda: 0.0)
    sampler.configure(settings())
    asyncio.run(sampler.sample(STILL, 0.0))
    (body,) = box.on("telemetry")
    assert set(body) == TELEMETRY_FIELDS


def test_a_new_interval_applies_from_the_last_message_without_waiting_for_the_old_one() -> None:
    async def scenario(box: Outbox) -> None:
        sampler = Sampler(SimulatedBoard(seed=1), box.send, box.report)
        sampler.configure(settings(telemetry_interval_s=30))
        task = asyncio.create_task(sampler.run())
        await asyncio.sleep(0.1)
        assert len(box.on("telemetry")) == 1
        sampler.configure(settings(telemetry_interval_s=0.2, sample_interval_s=0.05))
        await asyncio.sleep(0.5)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    box = Outbox()
    asyncio.run(scenario(box))
    assert len(box.on("telemetry")) >= 3


def test_crossing_a_threshold_sends_one_alert_over_many_samples() -> None:
    box = Outbox()
    sampler = Sampler(SimulatedBoard(), box.send, box.report, clock=lambda: 0.0)
    sampler.configure(
        settings(thresholds={"temperature": {"above": 20.0, "hysteresis": 0.5}}, temperature_cpu_factor=0)
    )

    async def samples() -> None:
        for i in range(50):
            await sampler.sample(STILL, float(i))

    asyncio.run(samples())
    assert [a["kind"] for a in box.on("alerts")] == ["temperature_high"]


class FlakyBoard(SimulatedBoard):
    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = iter(pattern)

    def read(self) -> Reading:
        if next(self.pattern, "ok") == "x":
            raise ReadError("I2C bus timeout")
        return STILL


def test_failed_reads_are_counted_and_reported_when_they_start_and_stop() -> None:
    box = Outbox()
    sampler = Sampler(FlakyBoard("..xxx..x."), box.send, box.report)
    sampler.configure(settings(telemetry_interval_s=0.05, sample_interval_s=0.05))
    asyncio.run(run_for(sampler, 0.7))
    assert sampler.read_failures == 4
    assert [(r["sensor_ok"], r["read_failures"]) for r in box.reports] == [(False, 1), (True, 3), (False, 4), (True, 4)]
    assert box.reports[0]["last_read_error"] == "I2C bus timeout"
    assert len(box.on("telemetry")) >= 6


def test_send_failures_do_not_stop_the_loop() -> None:
    box = Outbox(fail_sends=2)
    sampler = Sampler(SimulatedBoard(), box.send, box.report)
    sampler.configure(settings(telemetry_interval_s=0.05, sample_interval_s=0.05))
    asyncio.run(run_for(sampler, 0.4))
    assert sampler.send_failures == 2
    assert box.on("telemetry")[0]["seq"] == 3


def test_report_failures_do_not_stop_the_loop() -> None:
    box = Outbox(fail_reports=1)
    sampler = Sampler(FlakyBoard("x.."), box.send, box.report)
    sampler.configure(settings(telemetry_interval_s=0.05, sample_interval_s=0.05))
    asyncio.run(run_for(sampler, 0.3))
    assert [r["sensor_ok"] for r in box.reports] == [True]  # the failing report is lost, the recovery is not
    assert len(box.on("telemetry")) >= 3


@pytest.mark.parametrize("batch_size", [1, 3])
def test_batches(batch_size: int) -> None:
    box = Outbox()
    sampler = Sampler(SimulatedBoard(), box.send, box.report, clock=lambda: 0.0)
    sampler.configure(settings(batch_size=batch_size, telemetry_interval_s=1))

    async def samples() -> None:
        for i in range(6):
            await sampler.sample(STILL, float(i))

    asyncio.run(samples())
    bodies = box.on("telemetry")
    assert len(bodies) == 6 // batch_size
    assert all(isinstance(b, dict) if batch_size == 1 else len(b) == 3 for b in bodies)
