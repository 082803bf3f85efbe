"""Routed throughput, latency, loss and memory of the local hub, with mosquitto 2.0 as the baseline.

N module connections (paho-mqtt 1.6.1, the SDK's MQTT client; over TLS with SAS tokens for the hub)
publish QoS 1 messages of about 300 bytes; the hub routes them to one other module. The same clients
then publish and subscribe through mosquitto (plain TCP on loopback, default settings otherwise: no
persistence, max_queued_messages 1000), and once more over TLS with the hub's certificate, so the
cost of TLS is visible on its own. Scenarios:

- saturated: every publisher sends as fast as its in-flight window allows;
- paced: 500 messages/s in total from the N connections, for the latency percentiles;
- backlog: messages for a module that is offline, then the module connects and drains them.

Loss counts messages the broker acknowledged (PUBACK) that never reached the receiver.
Publishers and the receiver run in their own processes, so the broker has the clients' CPU to
compete with, as modules on a device would.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import psutil

from central.hub.auth import build_token, resource_uri

DEVICE, HUB_HOST, PAYLOAD_SIZE = "edge-local", "central-edge.local", 300
IDLE_S = 10.0  # the receiver stops after this long without a message
TIMEOUT_S = 900.0  # a scenario that takes longer than this has failed


@dataclass(frozen=True)
class Endpoint:
    """How one client connects and where it publishes or subscribes."""

    client_id: str
    topic: str
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class Target:
    name: str
    host: str
    port: int
    ca: str | None
    publishers: tuple[Endpoint, ...]
    receiver: Endpoint
    pid: int


@dataclass
class Result:
    sent: int = 0
    acked: int = 0
    received: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0
    broker_cpu: float = 0.0  # the broker's CPU time / wall time while the scenario ran (1.0 = one core)

    @property
    def lost(self) -> int:
        return max(0, self.acked - self.received)

    @property
    def rate(self) -> float:
        return self.received / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


# --- clients (run in worker processes) ---------------------------------------------------------


def _connect(target: Target, endpoint: Endpoint, on_message: object = None) -> mqtt.Client:
    client = mqtt.Client(endpoint.client_id, clean_session=False, protocol=mqtt.MQTTv311)
    if endpoint.username:
        client.username_pw_set(endpoint.username, endpoint.password)
    if target.ca:
        client.tls_set(ca_certs=target.ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    if on_message is not None:
        client.on_message = on_message
    client.connect(target.host, target.port, keepalive=60)
    client.loop_start()
    if not connected.wait(30):
        raise RuntimeError(f"{endpoint.client_id} could not connect to {target.name}")
    return client


def _payload(run_id: int, client: int, seq: int) -> bytes:
    head = f"{run_id}.{client}:{seq}:{time.time_ns()}:".encode()
    return head + b"x" * (PAYLOAD_SIZE - len(head))


def publisher(
    target: Target, run_id: int, first: int, endpoints: Sequence[Endpoint], count: int, rate: float, out: mp.Queue
) -> None:
    """Publish `count` messages from each endpoint, paced to `rate` per client per second if set.

    Client number `first + i` of all `len(target.publishers)` publishes at its own offset within
    each period, so together they send at an even pace rather than in bursts."""
    spread = 1 / len(target.publishers)
    acked = [0]
    lock = threading.Lock()

    def on_publish(*_: object) -> None:
        with lock:
            acked[0] += 1

    clients = [_connect(target, e) for e in endpoints]
    for c in clients:
        c.on_publish = on_publish
    start = time.monotonic()
    for seq in range(count):
        for i, (client, endpoint) in enumerate(zip(clients, endpoints, strict=True)):
            if rate:  # clients take turns, spread evenly over the period, as independent modules would
                time.sleep(max(0.0, start + (seq + (first + i) * spread) / rate - time.monotonic()))
            client.publish(endpoint.topic, _payload(run_id, first + i, seq), qos=1)
    deadline = time.monotonic() + 300
    while acked[0] < count * len(clients) and time.monotonic() < deadline:
        time.sleep(0.05)
    out.put((count * len(clients), acked[0]))
    for c in clients:
        c.disconnect()
        c.loop_stop()


def receiver(target: Target, run_id: int, ready: mp.Event, expected: mp.Queue, out: mp.Queue) -> None:
    """Receive until `expected` (sent later) messages arrived or nothing came for IDLE_S.

    Messages of earlier runs (redelivered at least once after a reconnection) are not counted."""
    prefix = f"{run_id}.".encode()
    seen: set[bytes] = set()
    latencies: list[float] = []
    times = {"first_sent": float("inf"), "last": 0.0, "at": time.monotonic()}

    def on_message(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        now = time.time_ns()
        if not message.payload.startswith(prefix):
            return
        client, seq, sent, _ = message.payload.split(b":", 3)
        seen.add(client + b":" + seq)
        latencies.append((now - int(sent)) / 1e6)
        times["first_sent"] = min(times["first_sent"], int(sent) / 1e9)
        times["last"], times["at"] = now / 1e9, time.monotonic()

    subscribed = threading.Event()
    client = _connect(target, target.receiver, on_message)
    client.on_subscribe = lambda *_: subscribed.set()
    client.subscribe(target.receiver.topic, qos=1)
    subscribed.wait(30)
    ready.set()
    want = expected.get()
    while len(seen) < want and time.monotonic() - times["at"] < IDLE_S:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    out.put((len(seen), max(0.0, times["last"] - times["first_sent"]), latencies))


# --- one scenario ------------------------------------------------------------------------------


def run(target: Target, count: int, rate: float = 0.0, workers: int = 2, offline_receiver: bool = False) -> Result:
    """Publishers in `workers` processes, one receiver process; `rate` is the total messages/s.

    With `offline_receiver` the receiver connects only once everything was published; the peak
    RSS is then the broker's while it holds the backlog."""
    ctx = mp.get_context("fork")
    run_id = time.monotonic_ns()
    ready, expected, results, published = ctx.Event(), ctx.Queue(), ctx.Queue(), ctx.Queue()
    per_client = rate / len(target.publishers) if rate else 0.0
    shares = [target.publishers[i::workers] for i in range(workers)]
    firsts = [sum(len(s) for s in shares[:i]) for i in range(workers)]
    receiving = ctx.Process(target=receiver, args=(target, run_id, ready, expected, results))
    senders = [
        ctx.Process(target=publisher, args=(target, run_id, first, share, count, per_client, published))
        for first, share in zip(firsts, shares, strict=True)
    ]
    try:
        with _RssSampler(target.pid) as rss:
            if not offline_receiver:
                _start_receiver(receiving, ready)
            for p in senders:
                p.start()
            totals = [published.get(timeout=TIMEOUT_S) for _ in senders]
            result = Result(sent=sum(t[0] for t in totals), acked=sum(t[1] for t in totals), peak_rss_mb=rss.peak_mb)
            if offline_receiver:
                _start_receiver(receiving, ready)
            expected.put(result.acked)
            result.received, result.seconds, result.latencies_ms = results.get(timeout=TIMEOUT_S)
        result.peak_rss_mb = result.peak_rss_mb if offline_receiver else rss.peak_mb
        result.broker_cpu = rss.cpu
        return result
    finally:
        for p in [*senders, receiving]:
            if p.is_alive():
                p.terminate()
            if p.pid is not None:
                p.join()


def _start_receiver(receiving: mp.Process, ready: mp.Event) -> None:
    receiving.start()
    if not ready.wait(60):
        raise RuntimeError("the receiver did not subscribe within 60 s")


class _RssSampler:
    """The broker's peak resident memory and its CPU use while a scenario runs."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak_mb = 0.0
        self.cpu = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, self.process.memory_info().rss / 2**20)
            if self._stop.wait(0.2):
                return

    def _cpu_s(self) -> float:
        times = self.process.cpu_times()
        return times.user + times.system

    def __enter__(self) -> _RssSampler:
        self._started = (time.monotonic(), self._cpu_s())
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        wall, cpu = time.monotonic() - self._started[0], self._cpu_s() - self._started[1]
        self.cpu = cpu / wall if wall else 0.0


# --- the two brokers ---------------------------------------------------------------------------


def _free_loopback(port: int) -> str:
    for third in range(200, 256):
        ip = f"127.77.{third}.{os.getpid() % 250 + 1}"
        with socket.socket() as s:
            try:
                s.bind((ip, port))
            except OSError:
                continue
            return ip
    raise RuntimeError(f"no loopback address with port {port} free")


def _wait_for_port(host: str, port: int, process: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port}")


@contextmanager
def _process(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _hub_manifest(modules: list[str]) -> dict[str, object]:
    route = "FROM /messages/modules/* WHERE $connectionModuleId <> 'sink' INTO BrokeredEndpoint(\"/modules/sink/inputs/bench\")"
    content: dict[str, object] = {
        "$edgeAgent": {"properties.desired": {"schemaVersion": "1.1", "modules": {m: {} for m in modules}}},
        "$edgeHub": {"properties.desired": {"schemaVersion": "1.2", "routes": {"bench": route}}},
    }
    return {"modulesContent": content}


@contextmanager
def local_hub(publishers: int, workdir: Path) -> Iterator[Target]:
    """`central hub` in a subprocess on its own loopback address, and SAS identities for its modules."""
    bind, state = _free_loopback(8883), workdir / "hub-state"
    names = [f"pub{i}" for i in range(publishers)]
    manifest = workdir / "manifest.json"
    manifest.write_text(json.dumps(_hub_manifest([*names, "sink"])))
    args = [
        sys.executable,
        "-m",
        "central",
        "hub",
        "--manifest",
        str(manifest),
        "--bind",
        bind,
        "--state-dir",
        str(state),
    ]
    with _process(args, workdir / "hub.log") as hub:
        _wait_for_port(bind, 8883, hub)
        keys = json.loads((state / "keys.json").read_text())["modules"]

        def identity(module: str, topic: str) -> Endpoint:
            token = build_token(resource_uri(HUB_HOST, DEVICE, module), keys[module])
            username = f"{HUB_HOST}/{DEVICE}/{module}/?api-version=2019-10-01&DeviceClientType=bench"
            return Endpoint(f"{DEVICE}/{module}", topic, username, token)

        yield Target(
            "hub",
            bind,
            8883,
            str(state / "certs" / "ca.pem"),
            tuple(identity(m, f"devices/{DEVICE}/modules/{m}/messages/events/%24.on=bench") for m in names),
            identity("sink", f"devices/{DEVICE}/modules/sink/inputs/#"),
            hub.pid,
        )


@contextmanager
def mosquitto(publishers: int, workdir: Path, tls: tuple[str, Path] | None = None) -> Iterator[Target]:
    """mosquitto on a free loopback port, default settings: plain MQTT, or with `tls` = (address,
    certs dir) the hub's own server certificate, to compare like with like."""
    host = tls[0] if tls else "127.0.0.1"
    with socket.socket() as s:
        s.bind((host, 0))
        port = s.getsockname()[1]
    lines = [f"listener {port} {host}", "allow_anonymous true"]
    if tls:  # `user root`: keep the rights to read the 0600 key when started as root (ignored otherwise)
        lines += [f"certfile {tls[1] / 'server.pem'}", f"keyfile {tls[1] / 'server.key'}", "user root"]
    config = workdir / "mosquitto.conf"
    config.write_text("\n".join(lines) + "\n")
    with _process(["mosquitto", "-c", str(config)], workdir / "mosquitto.log") as broker:
        _wait_for_port(host, port, broker)
        yield Target(
            "mosquitto+tls" if tls else "mosquitto",
            host,
            port,
            str(tls[1] / "ca.pem") if tls else None,
            tuple(Endpoint(f"pub{i}", "bench/in") for i in range(publishers)),
            Endpoint("sink", "bench/in"),
            broker.pid,
        )


# --- scenarios and report ----------------------------------------------------------------------


def scenarios(target: Target, args: argparse.Namespace) -> dict[str, Result]:
    n = len(target.publishers)
    results = {}
    print(f"  {target.name}: saturated", flush=True)
    results["saturated"] = run(target, args.messages)
    print(f"  {target.name}: paced {args.rate}/s", flush=True)
    results["paced"] = run(target, int(args.rate * args.seconds / n), rate=args.rate)
    if args.backlog:
        print(f"  {target.name}: backlog {args.backlog} for an offline module", flush=True)
        results["backlog"] = run(target, args.backlog // n, offline_receiver=True)
    return results


def report(results: dict[str, dict[str, Result]]) -> None:
    print(f"{'scenario':<10} {'broker':<13} {'acked':>7} {'received':>8} {'lost':>6} {'msg/s':>7}"
          f" {'p50 ms':>7} {'p99 ms':>8} {'peak RSS MB':>11} {'broker CPU':>10}")  # fmt: skip
    for scenario in ("saturated", "paced", "backlog"):
        for broker, by_scenario in results.items():
            r = by_scenario.get(scenario)
            if r is not None:
                print(f"{scenario:<10} {broker:<13} {r.acked:>7} {r.received:>8} {r.lost:>6} {r.rate:>7.0f}"
                      f" {r.percentile(50):>7.2f} {r.percentile(99):>8.2f} {r.peak_rss_mb:>11.1f} {r.broker_cpu:>9.0%}")  # fmt: skip
    hub = results.get("hub")
    for name, base in results.items():
        if hub and name != "hub":
            print(
                f"hub/{name}: saturated throughput {hub['saturated'].rate / base['saturated'].rate:.2f}x"
                f" (target >= 0.5x; lost: hub {hub['saturated'].lost}, {name} {base['saturated'].lost});"
                f" paced p99 {hub['paced'].percentile(99) / base['paced'].percentile(99):.1f}x"
                f" ({hub['paced'].percentile(99):.2f} ms, target <= 5 ms);"
                f" peak RSS {hub['saturated'].peak_rss_mb / max(base['saturated'].peak_rss_mb, 0.1):.1f}x"
                f" ({hub['saturated'].peak_rss_mb:.0f} MB, target <= 80 MB)"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hub_throughput", description=__doc__.splitlines()[0])
    parser.add_argument("--publishers", type=int, default=20, help="module connections that publish")
    parser.add_argument("--messages", type=int, default=1000, help="messages per publisher when saturated")
    parser.add_argument("--rate", type=float, default=500, help="total messages/s in the paced run")
    parser.add_argument("--seconds", type=float, default=10, help="length of the paced run")
    parser.add_argument("--backlog", type=int, default=100_000, help="messages queued for an offline module (0: skip)")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, Result]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp:
        with local_hub(args.publishers, Path(tmp)) as hub:
            results["hub"] = scenarios(hub, args)
        if not shutil.which("mosquitto"):
            print("mosquitto is not installed (apt-get install mosquitto): no baseline", file=sys.stderr)
        for tls in (None, (hub.host, Path(hub.ca).parent)) if shutil.which("mosquitto") else ():
            with mosquitto(args.publishers, Path(tmp), tls) as broker:
                results[broker.name] = scenarios(broker, args)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
