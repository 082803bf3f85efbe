"""The sampling loop: read the board, check alerts, send telemetry on its cadence.

Samples are taken every `sample_interval_s` (so a two-second shake is not
missed between telemetry messages); telemetry goes out every
`telemetry_interval_s` from the latest good sample. A twin change wakes the
loop at once, so a new cadence applies from the last message sent, not after
the old interval runs out.

A failed read is counted and the next sample tries again; the loop never ends
because of the hardware. Failures are reported when reads start failing and
when they recover, not per sample: twin updates count against the same daily
quota as messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sensor.alerts import AlertEngine, rules_from_settings
from sensor.boards.base import ReadError, Reading, SenseBoard
from sensor.telemetry import Batcher, TemperatureCorrection, alert_values, iso_now, telemetry_record

log = logging.getLogger(__name__)

Send = Callable[[str, Any], Awaitable[Any]]
Report = Callable[[dict[str, Any]], Awaitable[None]]


class Sampler:
    def __init__(
        self, board: SenseBoard, send: Send, report: Report, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.board = board
        self._send = send
        self._report = report
        self._clock = clock
        self._wake = asyncio.Event()
        self.alerts = AlertEngine([], 0)
        self.batcher = Batcher()
        self.correction = TemperatureCorrection()
        self.telemetry_interval_s = 15.0
        self.sample_interval_s = 1.0
        self.seq = 0
        self.read_failures = 0
        self.send_failures = 0
        self._failing = False
        self._last_sent: float | None = None
        self._next_telemetry = clock()

    def configure(self, settings: dict[str, Any]) -> None:
        self.telemetry_interval_s = float(settings["telemetry_interval_s"])
        self.sample_interval_s = float(settings["sample_interval_s"])
        self.batcher.size = int(settings["batch_size"])
        self.correction = TemperatureCorrection(settings["temperature_offset_c"], settings["temperature_cpu_factor"])
        self.alerts.configure(rules_from_settings(settings), float(settings["alert_min_interval_s"]))
        if self._last_sent is not None:
            self._next_telemetry = self._last_sent + self.telemetry_interval_s
        self._wake.set()

    def status(self) -> dict[str, Any]:
        """The reported-property view of the board and the loop."""
        return {"backend": self.board.name, "read_failures": self.read_failures, "sensor_ok": not self._failing}

    async def run(self) -> None:
        while True:
            started = self._clock()
            reading = await self._read()
            if reading is not None:
                await self.sample(reading, started)
            wake_at = min(started + min(self.sample_interval_s, self.telemetry_interval_s), self._next_telemetry)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, wake_at - self._clock()))

    async def sample(self, reading: Reading, now: float) -> None:
        """Alerts for every sample; telemetry when it is due."""
        ts = iso_now()
        for alert in self.alerts.evaluate(alert_values(reading, self.correction), now, ts):
            log.info("alert %s: %s (threshold %s)", alert.kind, alert.value, alert.threshold)
            await self._deliver("alerts", alert.to_json())
        if now + 0.001 < self._next_telemetry:
            return
        self.seq += 1
        body = self.batcher.add(telemetry_record(reading, self.seq, ts, self.correction))
        if body is not None:
            await self._deliver("telemetry", body)
        self._last_sent = now
        self._next_telemetry += self.telemetry_interval_s
        if self._next_telemetry <= now:  # fell behind (a slow read or send): restart the cadence, never burst
            self._next_telemetry = now + self.telemetry_interval_s

    async def _deliver(self, output: str, body: Any) -> None:
        """Send, and on failure log and go on: the SDK already retried, and the next sample must still happen."""
        try:
            await self._send(output, body)
        except Exception:
            self.send_failures += 1
            log.exception("sending on output %s failed", output)

    async def _read(self) -> Reading | None:
        try:
            reading = await asyncio.to_thread(self.board.read)
        except Exception as e:  # a driver bug must not end the loop either; ReadError is the expected case
            if not isinstance(e, ReadError):
                log.exception("unexpected error reading the %s board", self.board.name)
            self.read_failures += 1
            if not self._failing:
                self._failing = True
                log.warning("sensor read failed (%s); retrying every sample", e)
                await self._report_state({**self.status(), "last_read_error": str(e)})
            else:
                log.debug("sensor read failed again (%s), %d failures so far", e, self.read_failures)
            return None
        if self._failing:
            self._failing = False
            log.info("sensor reads recovered after %d failures in total", self.read_failures)
            await self._report_state(self.status())
        return reading

    async def _report_state(self, patch: dict[str, Any]) -> None:
        """Report, and on failure log and go on: a hub that is away must not end sampling (the next
        settings report carries the same status)."""
        try:
            await self._report(patch)
        except Exception:
            log.exception("reporting the sensor state failed")
