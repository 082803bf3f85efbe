"""Benchmark: take_photo round trip through the real camera module, and its memory.

Round trip = direct method call (hub -> module over MQTT/TLS) until both the
200 answer (the module answers 200 only once the blob is stored) and the
`photos` message has reached a subscribing module. Synthetic backend, 1280x720,
100 calls after 5 warm-up calls. Baselines in the same process: the capture and
JPEG encode alone, and a bare azure-storage-blob upload of the same bytes to
the same Azurite, so the ratio shows what the module adds on top of the work
it cannot avoid. RSS of the module process idle and every 25 photos, against
the RSS of a bare Python that only imports the libraries the module cannot do
without (the memory floor no code of ours can go below).

Run from the repository root: `.venv/bin/python -m bench.camera_take_photo`.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
from azure.storage.blob import BlobServiceClient
from camera.backends.base import StillSettings
from camera.backends.synthetic import SyntheticCamera

from tests.fixtures.camera_module import CameraEdge, RestartableAzurite, camera_manifest
from tests.fixtures.hub import RunningHub
from tests.fixtures.network import free_loopback

CALLS = 100
WARMUP = 5
RESOLUTION = "1280x720"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def memory_mb(pid: int) -> tuple[float, float]:
    """(RSS, USS): resident, and what this process alone holds (shared library pages excluded)."""
    info = psutil.Process(pid).memory_full_info()
    return info.rss / 1e6, info.uss / 1e6


# What `python -m camera` with the synthetic backend imports from other projects, and nothing else.
FLOOR_IMPORTS = "azure.iot.device, azure.storage.blob, fastjsonschema, PIL.Image, PIL.ImageDraw, PIL.JpegImagePlugin"


def import_floor_mb() -> float:
    """RSS of a Python process that has imported FLOOR_IMPORTS and waits, measured from outside like the module."""
    program = f"import {FLOOR_IMPORTS}, sys; print('ready', flush=True); sys.stdin.read()"
    with subprocess.Popen(
        [sys.executable, "-c", program], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as floor:
        assert floor.stdout is not None
        floor.stdout.readline()
        rss = memory_mb(floor.pid)[0]
        floor.communicate("")
    return rss


def baselines(connection_string: str) -> tuple[list[float], list[float]]:
    """Capture + JPEG encode alone, and a bare upload of such a JPEG, each timed CALLS times (ms)."""
    camera = SyntheticCamera(seed=11)
    settings = StillSettings(1280, 720, quality=85)
    capture_ms, upload_ms = [], []
    container = BlobServiceClient.from_connection_string(connection_string).get_container_client("photos")
    for n in range(CALLS):
        start = time.perf_counter()
        jpeg = camera.capture_still(settings).jpeg
        capture_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        container.upload_blob(f"baseline/{n}.jpg", jpeg, overwrite=True)
        upload_ms.append((time.perf_counter() - start) * 1000)
    return capture_ms, upload_ms


class Arrivals:
    """`photos` messages seen by the probe module, by blob name, with their arrival time."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.changed = threading.Condition()

    def on_message(self, message: Any) -> None:
        blob = json.loads(message.data)["blob"]
        with self.changed:
            self.times[blob] = time.perf_counter()
            self.changed.notify_all()

    def wait(self, blob: str, timeout_s: float = 30) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: blob in self.times, timeout_s):
                raise TimeoutError(f"no photos message for {blob}")
            return self.times[blob]


def round_trips(edge: CameraEdge, arrivals: Arrivals, pid: int) -> tuple[list[float], list[tuple[int, float, float]]]:
    for _ in range(WARMUP):
        edge.call("take_photo", {"resolution": RESOLUTION})
    times_ms, memory = [], [(0, *memory_mb(pid))]
    for n in range(1, CALLS + 1):
        start = time.perf_counter()
        status, result = edge.call("take_photo", {"resolution": RESOLUTION})
        answered = time.perf_counter()
        if status != 200:
            raise RuntimeError(f"take_photo answered {status}: {result}")
        arrived = arrivals.wait(result["blob"])
        times_ms.append((max(answered, arrived) - start) * 1000)
        if n % 25 == 0:
            memory.append((n, *memory_mb(pid)))
    return times_ms, memory


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m bench` (which passes `argv`); this benchmark takes no options."""
    with tempfile.TemporaryDirectory(prefix="bench-camera-") as scratch:
        work = Path(scratch)
        hub = RunningHub(camera_manifest(), work / "state", free_loopback())
        azurite = RestartableAzurite(work / "azurite", hub.bind)
        azurite.start()
        edge = CameraEdge(hub, azurite, work)
        try:
            arrivals = Arrivals()
            probe = hub.module_client("probe")
            probe.on_message_received = arrivals.on_message
            camera = edge.start_camera(RuntimeLogLevel="warning")
            time.sleep(2)
            idle = memory_mb(camera.pid)
            times_ms, memory = round_trips(edge, arrivals, camera.pid)
            capture_ms, upload_ms = baselines(azurite.connection_string)
        finally:
            edge.close()
            hub.close()
    report(times_ms, memory, idle, capture_ms, upload_ms, import_floor_mb())
    return 0


def report(
    times_ms: list[float],
    memory: list[tuple[int, float, float]],
    idle: tuple[float, float],
    capture_ms: list[float],
    upload_ms: list[float],
    floor_mb: float,
) -> None:
    p50, p95 = percentile(times_ms, 50), percentile(times_ms, 95)
    floor = statistics.median(capture_ms) + statistics.median(upload_ms)
    print(
        f"camera take_photo round trip, synthetic {RESOLUTION}, {CALLS} calls (method -> blob stored -> photos delivered)"
    )
    print(f"  p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   max {max(times_ms):7.1f} ms   (targets: p50 <= 100, p95 <= 250)")
    print(
        f"  baseline capture+encode p50 {statistics.median(capture_ms):6.1f} ms, bare upload p50 {statistics.median(upload_ms):6.1f} ms"
    )
    print(f"  round trip / (capture + upload) = {p50 / floor:4.2f}x")
    print(f"  module idle: RSS {idle[0]:5.1f} MB, USS {idle[1]:5.1f} MB")
    print(f"  import floor (bare Python + the libraries' imports only): RSS {floor_mb:5.1f} MB")
    for n, rss, uss in memory:
        print(f"  after {n:3d} photos (+{WARMUP} warm-up): RSS {rss:5.1f} MB, USS {uss:5.1f} MB")
    print(
        f"  RSS growth over the {CALLS} photos: {memory[-1][1] - memory[0][1]:+5.1f} MB (target: RSS <= 60 MB, not growing)"
    )
    print(f"  module RSS after the photos / import floor = {memory[-1][1] / floor_mb:4.2f}x")


if __name__ == "__main__":
    sys.exit(main())
