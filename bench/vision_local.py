"""Benchmark: the local (OpenCV) analyser, images per second on one core, and what each stage costs.

Five real photographs that ship in PyPI packages (scikit-image's astronaut,
coffee and cat, scikit-learn's china and flower) are scaled to 640x480 and
1280x720 and JPEG-encoded, as the camera sends them. Each is analysed from its
JPEG bytes (decode included) with every feature on. Baseline in the same run: a
bare Haar frontal-face call with OpenCV's defaults on the same decoded grey
images, the cheapest thing that could be called "face detection". One core:
OpenCV's own threads are off and the process is pinned to one CPU. Rates are
given in wall time and in CPU time; on a shared, busy machine the CPU-time rate
is what a dedicated core would do.
Target: at least 10 images/s at 640x480 (a Pi 4 is roughly 3-5x slower).

Run from the repository root: `.venv/bin/python -m bench.vision_local`.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections import defaultdict

import cv2
import numpy as np
from skimage import data as skdata
from sklearn.datasets import load_sample_image
from vision.analyzers.local import LocalAnalyzer
from vision.result import PhotoRef

SIZES = ((640, 480), (1280, 720))
ROUNDS = 8
TARGET_PER_S = 10.0


def photographs() -> list[np.ndarray]:
    rgb = [
        skdata.astronaut(),
        skdata.coffee(),
        skdata.chelsea(),
        load_sample_image("china.jpg"),
        load_sample_image("flower.jpg"),
    ]
    return [cv2.cvtColor(image, cv2.COLOR_RGB2BGR) for image in rgb]


def encoded(images: list[np.ndarray], size: tuple[int, int]) -> list[bytes]:
    out = []
    for image in images:
        ok, jpeg = cv2.imencode(
            ".jpg", cv2.resize(image, size, interpolation=cv2.INTER_AREA), [cv2.IMWRITE_JPEG_QUALITY, 85]
        )
        assert ok
        out.append(jpeg.tobytes())
    return out


def run_analyzer(jpegs: list[bytes]) -> tuple[float, float, dict[str, float]]:
    """Wall and CPU seconds per image, and mean wall milliseconds per stage."""
    analyzer = LocalAnalyzer()
    analyzer.analyze(jpegs[0], PhotoRef())  # warm-up
    stages: dict[str, list[float]] = defaultdict(list)
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(ROUNDS):
        for jpeg in jpegs:
            for stage, ms in analyzer.analyze(jpeg, PhotoRef()).stages_ms.items():
                stages[stage].append(ms)
    n = ROUNDS * len(jpegs)
    wall, cpu = (time.perf_counter() - started) / n, (time.process_time() - cpu_started) / n
    return wall, cpu, {k: statistics.fmean(v) for k, v in stages.items()}


def run_bare_haar(jpegs: list[bytes]) -> tuple[float, float]:
    """Wall and CPU seconds per image for `detectMultiScale` with defaults on the full-size grey image."""
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    grays = [
        cv2.cvtColor(cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2GRAY) for j in jpegs
    ]
    cascade.detectMultiScale(grays[0])
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(ROUNDS):
        for gray in grays:
            cascade.detectMultiScale(gray)
    n = ROUNDS * len(grays)
    return (time.perf_counter() - started) / n, (time.process_time() - cpu_started) / n


def pin_to_one_core() -> str:
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"cpu {cpu}"
    return "cv2 threads 1 (no affinity on this OS)"


def main(argv: list[str] | None = None) -> int:
    where = pin_to_one_core()
    images = photographs()
    print(f"local analyser, OpenCV {cv2.__version__}, one core ({where}), {ROUNDS} rounds of {len(images)} photos")
    below_target = False
    for width, height in SIZES:
        jpegs = encoded(images, (width, height))
        per_image, cpu, stages = run_analyzer(jpegs)
        haar, haar_cpu = run_bare_haar(jpegs)
        below_target |= (width, height) == SIZES[0] and 1.0 / cpu < TARGET_PER_S
        print(f"\n{width}x{height}: analyser {1 / per_image:6.1f} images/s wall, {1 / cpu:6.1f} images/s of CPU time")
        print(f"  bare Haar (defaults, full size) {1 / haar:6.1f} images/s wall, {1 / haar_cpu:6.1f} of CPU time")
        print(f"  analyser / bare Haar: {per_image / haar:.2f}x wall, {cpu / haar_cpu:.2f}x CPU")
        for stage, ms in sorted(stages.items(), key=lambda kv: -kv[1]):
            print(f"    {stage:<8} {ms:7.2f} ms  {ms / (per_image * 1000):6.1%}")
    print(f"\ntarget >= {TARGET_PER_S:.0f} images/s (CPU time) at 640x480: {'MISSED' if below_target else 'met'}")
    print(f"load average {os.getloadavg()[0]:.1f}: on a shared machine wall time includes waiting for the core")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
