"""Benchmark: the sensor module idle at a 1 s telemetry interval, RSS and CPU share.

Runs the real `python -m sensor` (simulated board unless `--backend`) against a local hub and
samples the module process with psutil for `--seconds` (default 60; use 20 for
a quick check). Baseline in the same run: a bare azure-iot-device module client
connected to the same hub with its handlers set and doing nothing, the floor
any Python module pays; the ratios show what the sensor module adds to it.
Targets from issue 6: RSS at most 60 MB, CPU at most 2 % of one core.

Run from the repository root: `.venv/bin/python -m bench.sensor_idle [--seconds 20]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from tests.fixtures.hub import RunningHub
from tests.fixtures.network import free_loopback
from tests.fixtures.sensor_module import SensorEdge, sensor_manifest

BARE_CLIENT = """
import time
from azure.iot.device import IoTHubModuleClient
client = IoTHubModuleClient.create_from_edge_environment()
client.connect()
client.on_message_received = lambda m: None
client.on_method_request_received = lambda r: None
client.on_twin_desired_properties_patch_received = lambda p: None
client.get_twin()
print("ready", flush=True)
time.sleep(3600)
"""


def measure(pid: int, seconds: float) -> tuple[float, float, float]:
    """(CPU % of one core over the window, mean RSS MB, peak RSS MB), RSS sampled once a second."""
    process = psutil.Process(pid)
    start_cpu, start = process.cpu_times(), time.monotonic()
    rss = []
    while time.monotonic() - start < seconds:
        rss.append(process.memory_info().rss / 1e6)
        time.sleep(1.0)
    end_cpu, elapsed = process.cpu_times(), time.monotonic() - start
    cpu = max(0.0, (end_cpu.user + end_cpu.system - start_cpu.user - start_cpu.system) / elapsed * 100)
    return cpu, sum(rss) / len(rss), max(rss)


def bare_client(hub: RunningHub, log_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOTEDGE_")} | hub.module_env("camera")
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-c", BARE_CLIENT], env=env, stdout=subprocess.PIPE, stderr=log)
    assert process.stdout is not None
    if process.stdout.readline().strip() != b"ready":
        raise RuntimeError(f"bare client failed:\n{log_path.read_text()}")
    return process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measuring window (default 60)")
    parser.add_argument(
        "--backend", default="simulated", help="SENSE_BACKEND (sense-emu runs the emulator's servers in the module)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        hub = RunningHub(sensor_manifest({"telemetry_interval_s": 1}), Path(work) / "state", free_loopback())
        edge = SensorEdge(hub, Path(work))
        baseline = None
        try:
            baseline = bare_client(hub, Path(work) / "bare.log")
            sensor = edge.start_sensor(SENSE_BACKEND=args.backend)
            edge.wait_for_messages("telemetry", 3)
            time.sleep(2)  # let start-up work (imports, twin, first sends) settle
            first = len(edge.messages("telemetry"))
            cpu, rss, peak = measure(sensor.process.pid, args.seconds)
            sent = len(edge.messages("telemetry")) - first
            base_cpu, base_rss, _ = measure(baseline.pid, min(args.seconds, 20.0))
            alive = sensor.process.poll() is None
        finally:
            edge.close()
            if baseline is not None:
                baseline.terminate()
                baseline.wait(10)
            hub.close()
    print(f"sensor idle ({args.backend}), 1 s telemetry, {args.seconds:.0f} s window: {sent} messages")
    print(
        f"  CPU {cpu:.2f} % of one core (target <= 2 %)   RSS mean {rss:.1f} MB, peak {peak:.1f} MB (target <= 60 MB)"
    )
    print(f"  bare SDK client baseline: CPU {base_cpu:.2f} %, RSS {base_rss:.1f} MB")
    print(
        f"  sensor over bare client: RSS {rss / base_rss:.2f}x (+{rss - base_rss:.1f} MB), CPU +{cpu - base_cpu:.2f} points"
    )
    print(f"  module still running after the window: {alive}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
