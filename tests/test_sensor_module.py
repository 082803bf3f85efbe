"""End to end: `python -m sensor` against the local hub, driven through twins, methods, inputs and routes."""

from __future__ import annotations

import itertools
import json
import os
import queue
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from azure.iot.device import Message
from sensor.led import STATUS_COLOURS

from tests.fixtures.module_process import wait_for
from tests.fixtures.sensor_module import TELEMETRY_FIELDS, SensorEdge

pytestmark = pytest.mark.slow

FAST = {"telemetry_interval_s": 1, "shake_threshold_g": None}  # no random shake alerts in cadence tests


def gaps(messages: list[tuple[float, Any, dict[str, str]]]) -> list[float]:
    times = [t for t, _, _ in messages]
    return [b - a for a, b in itertools.pairwise(times)]


def test_telemetry_arrives_at_its_cadence_with_its_shape(sensor_edge: Any) -> None:
    edge: SensorEdge = sensor_edge(FAST)
    sensor = edge.start_sensor(SENSE_SEED="3")
    messages = edge.wait_for_messages("telemetry", 5)
    assert 0.8 < statistics.median(gaps(messages)) < 1.2
    _, body, system = messages[-1]
    assert system["contentType"] == "application/json" and system["contentEncoding"] == "utf-8"
    assert set(body) == TELEMETRY_FIELDS
    assert set(body["orientation"]) == {"pitch", "roll", "yaw"} and set(body["acceleration"]) == {"x", "y", "z"}
    assert [b["seq"] for _, b, _ in messages] == list(range(1, len(messages) + 1))
    assert 5 < body["temperature"] < 35 and body["temperature"] < body["temperature_raw"]  # CPU heat corrected
    reported = sensor.reported()
    assert reported["backend"] == "simulated" and reported["read_failures"] == 0
    assert reported["settings"]["telemetry_interval_s"] == 1
    assert sensor.stop() == 0  # SIGTERM, as edgeAgent stops a module: a clean exit


def test_twin_patch_changes_cadence_live_and_a_bad_one_is_rejected(sensor_edge: Any) -> None:
    edge: SensorEdge = sensor_edge(FAST)
    sensor = edge.start_sensor()
    edge.wait_for_messages("telemetry", 3)
    edge.hub.patch_desired("sensor", {"telemetry_interval_s": 2})
    wait_for(lambda: sensor.reported()["settings"]["telemetry_interval_s"] == 2, 10, "the new interval reported")
    before = len(edge.messages("telemetry"))
    edge.wait_for_messages("telemetry", before + 4, timeout_s=20)
    assert 1.7 < statistics.median(gaps(edge.messages("telemetry")[before:])) < 2.3

    edge.hub.patch_desired("sensor", {"telemetry_interval_s": 0, "led_brightness": 0.5})
    rejected = wait_for(lambda: sensor.reported().get("rejected"), 10, "the rejection reported")
    assert "telemetry_interval_s" in rejected and "minimum" in rejected["telemetry_interval_s"]
    reported = sensor.reported()["settings"]
    assert reported["telemetry_interval_s"] == 2 and reported["led_brightness"] == 0.5  # the good key still applied
    before = len(edge.messages("telemetry"))
    edge.wait_for_messages("telemetry", before + 3, timeout_s=20)
    assert 1.7 < statistics.median(gaps(edge.messages("telemetry")[before:])) < 2.3
    assert sensor.process.poll() is None  # no restart


def test_crossing_a_threshold_sends_one_alert_not_one_per_sample(sensor_edge: Any) -> None:
    edge: SensorEdge = sensor_edge({**FAST, "sample_interval_s": 0.2})
    sensor = edge.start_sensor()
    edge.wait_for_messages("telemetry", 1)
    edge.hub.patch_desired("sensor", {"thresholds": {"temperature": {"above": -40}}})
    alerts = edge.wait_for_messages("alerts", 1, timeout_s=10)
    edge.wait_for_messages("telemetry", len(edge.messages("telemetry")) + 3)  # 15 more samples, all above
    alerts = edge.messages("alerts")
    assert [body["kind"] for _, body, _ in alerts] == ["temperature_high"]
    body = alerts[0][1]
    assert set(body) == {"kind", "value", "threshold", "ts"} and body["threshold"] == -40 and body["value"] > -40
    assert sensor.process.poll() is None


def test_a_middle_press_reaches_the_camera_trigger_through_the_default_route(sensor_edge: Any, tmp_path: Path) -> None:
    edge: SensorEdge = sensor_edge(FAST)
    camera = edge.hub.module_client("camera")
    triggers: queue.Queue[Message] = queue.Queue()
    camera.on_message_received = triggers.put
    fifo = tmp_path / "stick"
    edge.start_sensor(SENSE_JOYSTICK_FIFO=str(fifo))
    with fifo.open("w") as stick:
        stick.write("up\nmiddle released\nmiddle\n")  # only the middle press matches the route
    message = triggers.get(timeout=15)
    assert message.input_name == "trigger"
    assert message.data == b'{"direction":"middle","action":"pressed"}'
    with pytest.raises(queue.Empty):
        triggers.get(timeout=2)


BAD_CALLS = [
    ("show_message", {"text": "x" * 201}, "text"),
    ("show_message", {"text": ""}, "text"),
    ("show_message", {"text": "hi", "color": [255, 0]}, "color"),
    ("show_message", {"text": "hi", "speed": 5}, "speed"),
    ("show_message", {"text": "hi", "font": "big"}, "font"),
    ("show_status", {"level": "panic"}, "level"),
    ("show_status", {}, "level"),
    ("clear", {"now": True}, "now"),
]


def test_method_payloads_are_validated_and_answered_400_naming_the_field(sensor_edge: Any) -> None:
    edge: SensorEdge = sensor_edge(FAST)
    sensor = edge.start_sensor()
    for method, payload, field in BAD_CALLS:
        status, answer = edge.hub.invoke_method("sensor", method, payload, timeout_s=10)
        assert (status, answer["field"]) == (400, field), (method, payload, answer)  # type: ignore[index]
    assert sensor.process.poll() is None


def test_good_method_calls_and_the_status_input(sensor_edge: Any) -> None:
    edge: SensorEdge = sensor_edge(FAST)
    edge.start_sensor()
    status, answer = edge.hub.invoke_method("sensor", "show_message", {"text": "Hi", "color": "#00ff00", "speed": 0.05})
    assert status == 200 and answer["frames"] > 8 and answer["duration_s"] == pytest.approx(answer["frames"] * 0.05)
    assert edge.hub.invoke_method("sensor", "show_status", {"level": "alert"}) == (200, {"level": "alert"})
    assert edge.hub.invoke_method("sensor", "clear", None) == (200, {})
    assert edge.hub.invoke_method("sensor", "reboot", {})[0] == 404


def test_failed_reads_are_counted_and_reported_and_telemetry_goes_on(sensor_edge: Any) -> None:
    edge: SensorEdge = sensor_edge(FAST)
    sensor = edge.start_sensor(SENSE_FAIL_RATE="0.5", SENSE_SEED="4")
    edge.wait_for_messages("telemetry", 4, timeout_s=20)
    reported = wait_for(lambda: (r := sensor.reported()).get("read_failures") and r, 10, "read failures reported")
    assert reported["read_failures"] >= 1 and "last_read_error" in reported
    assert sensor.process.poll() is None


def assert_led_status_from_method_and_vision(edge: SensorEdge) -> None:
    """The emulator's LED matrix is shared memory, so this process sees what the module drew."""
    from sense_emu import SenseHat

    hat = SenseHat()

    def matrix_is(colour: tuple[int, int, int]) -> bool:
        pixels = hat.get_pixels()  # RGB565 underneath: each channel comes back within 8
        return all(abs(p - c) <= 8 for pixel in pixels for p, c in zip(pixel, colour, strict=True))

    try:
        assert edge.hub.invoke_method("sensor", "show_status", {"level": "alert"})[0] == 200
        wait_for(lambda: matrix_is(STATUS_COLOURS["alert"]), 5, "the matrix to turn red")
        vision = edge.hub.module_client("vision")
        detections = {"people_count": 1, "faces_count": 0, "people": [{"name": "person"}], "faces": []}
        body = Message(json.dumps(detections), content_encoding="utf-8", content_type="application/json")
        vision.send_message_to_output(body, "detections")
        wait_for(lambda: matrix_is(STATUS_COLOURS["warn"]), 10, "the matrix to show the vision status")
    finally:
        hat.stick.close()
        Path(f"/dev/shm/rpi-sense-emu-client-{os.getpid()}").unlink(missing_ok=True)


@pytest.mark.usefixtures("sense_emu_exclusive")
def test_sense_emu_backend_reads_the_values_set_through_its_servers(sensor_edge: Any) -> None:
    from sense_emu.humidity import HumidityServer
    from sense_emu.lock import EmulatorLock
    from sense_emu.pressure import PressureServer

    edge: SensorEdge = sensor_edge({**FAST, "temperature_cpu_factor": 0})  # the hub; `finally` stops the module
    lock = EmulatorLock("sense_emu")
    lock.acquire()  # this test drives the emulator, as its GUI would; the module attaches and reads
    pressure, humidity = PressureServer(simulate_noise=False), HumidityServer(simulate_noise=False)
    try:
        pressure.set_values(995.5, 27.0)
        humidity.set_values(55.0, 27.0)
        sensor = edge.start_sensor(SENSE_BACKEND="sense-emu")
        assert sensor.reported()["backend"] == "sense-emu"
        _, body, _ = edge.wait_for_messages("telemetry", 2)[-1]
        assert (body["temperature"], body["humidity"], body["pressure"]) == pytest.approx((27.0, 55.0, 995.5), abs=0.1)
        humidity.set_values(61.0, 12.5)

        def changed() -> Any:
            latest = edge.messages("telemetry")[-1][1]
            return latest["humidity"] == pytest.approx(61.0, abs=0.1) and latest

        latest = wait_for(changed, 10, "telemetry with the new humidity")
        assert latest["temperature"] == pytest.approx(12.5, abs=0.1)
        assert_led_status_from_method_and_vision(edge)
    finally:
        edge.close()
        pressure.close()
        humidity.close()
        lock.release()


@pytest.mark.parametrize(
    ("env", "named"),
    [({"SENSE_BACKEND": "sense-hat"}, "sense-hat package"), ({"SENSE_BACKEND": "hat"}, "unknown sense board backend")],
)
def test_a_backend_that_cannot_load_stops_the_module_with_one_line(env: dict[str, str], named: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("IOTEDGE_", "SENSE_"))}
    result = subprocess.run(
        [sys.executable, "-m", "sensor"], env=clean | env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert named in result.stderr and "Traceback" not in result.stderr
