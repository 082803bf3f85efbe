"""`central up` with the real modules: start and stop times, direct-method latency, restart after SIGKILL.

Direct methods go operator → service API (HTTPS, SAS) → hub → module (MQTT) and back. Three clients make
the same `camera.get_status` call, so each layer's cost shows as a ratio to the leanest one (the baseline):

- raw: `requests` with a hand-made SAS token, one new HTTPS connection per call (the baseline);
- sdk: the azure-iot-hub `IoTHubRegistryManager`, as `central invoke` uses it;
- cli: the `central invoke` command, a new Python process per call.

The restart scenario SIGKILLs the sensor module and times until it runs again: edgeAgent's first
back-off is 10 s, so anything above that is the agent's and the module's own start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import requests

from central.edge_locator import owner_connection_string, read_edge_info
from central.hub.auth import build_token
from tests.fixtures.network import free_loopback

REPO = Path(__file__).resolve().parents[1]
CENTRAL = [sys.executable, "-m", "central"]


class Edge:
    """`central up --template deployment.template.json` in a scratch state dir on its own address."""

    def __init__(self, root: Path) -> None:
        self.state = root / "state"
        settings = root / "central.local.toml"
        settings.write_text(f'bind = "{free_loopback()}"\n')
        self.args = ["--state-dir", str(self.state)]
        command = [*CENTRAL, "up", "--settings", str(settings), *self.args, "--grace", "5"]
        self.lines: list[str] = []
        self.ready = threading.Event()
        started = time.monotonic()
        self.proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(120):
            self.proc.kill()
            raise RuntimeError("central up did not come up:\n" + "".join(self.lines[-20:]))
        self.start_s = time.monotonic() - started

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if "local edge up" in line:
                self.ready.set()

    def status(self) -> dict[str, dict[str, object]]:
        out = subprocess.run([*CENTRAL, "status", "--json", *self.args], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    def stop(self) -> float:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(60)
        return time.monotonic() - started


def timed(call: Callable[[], object], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def clients(edge: Edge) -> dict[str, Callable[[], object]]:
    from azure.iot.hub import IoTHubRegistryManager
    from azure.iot.hub.models import CloudToDeviceMethod

    info = read_edge_info(edge.state)
    connection = owner_connection_string(edge.state, info)
    key = connection.split("SharedAccessKey=", 1)[1]
    ca = str(edge.state / "certs" / "ca.pem")
    url = f"https://{info.service_host}/twins/{info.device_id}/modules/camera/methods?api-version=2021-04-12"
    body = {"methodName": "get_status", "payload": {}, "responseTimeoutInSeconds": 30}
    manager = IoTHubRegistryManager.from_connection_string(connection)
    manager.protocol.config.connection.verify = ca
    method = CloudToDeviceMethod(method_name="get_status", payload={}, response_timeout_in_seconds=30)

    def raw() -> object:
        token = build_token(info.service_host, key) + "&skn=iothubowner"
        answer = requests.post(url, json=body, headers={"Authorization": token}, verify=ca, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def cli() -> object:
        return subprocess.run([*CENTRAL, "invoke", "camera", "get_status", *edge.args], capture_output=True, check=True)

    return {
        "raw": raw,
        "sdk": lambda: manager.invoke_device_module_method(info.device_id, "camera", method),
        "cli": cli,
    }


def restart_after_sigkill(edge: Edge, module: str) -> float:
    first = edge.status()[module]["pid"]
    assert isinstance(first, int)
    os.kill(first, signal.SIGKILL)
    killed = time.monotonic()
    while True:
        now = edge.status()[module]
        if now["runtimeStatus"] == "running" and now["pid"] != first:
            return time.monotonic() - killed
        time.sleep(0.1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.edge_up", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30, help="direct-method calls per client (default 30)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as root:
        edge = Edge(Path(root))
        try:
            print(f"start (3 modules connected): {edge.start_s:.2f} s")
            results = {name: timed(call, args.calls) for name, call in clients(edge).items()}
            baseline = statistics.median(results["raw"])
            print(f"camera.get_status, {args.calls} calls each (ms):")
            for name, times in results.items():
                median, p95 = statistics.median(times), sorted(times)[int(0.95 * (len(times) - 1))]
                print(f"  {name:4} median {median:7.1f}  p95 {p95:7.1f}  x{median / baseline:5.1f} vs raw")
            print(f"sensor back running after SIGKILL: {restart_after_sigkill(edge, 'sensor'):.1f} s (back-off 10 s)")
        finally:
            print(f"stop after SIGINT: {edge.stop():.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
