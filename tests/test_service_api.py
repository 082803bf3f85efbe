"""The service API driven by the official azure-iot-hub SDK, over HTTPS with the local CA.

A real Hub and the ServiceApi run on an event loop in a background thread; a
real module (tests.agent_modules.echo on azure-iot-device) connects to the hub
for methods, twins and upstream messages.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.iot.hub import IoTHubRegistryManager
from azure.iot.hub.models import CloudToDeviceMethod, Twin, TwinProperties
from msrest.exceptions import HttpOperationError

from central.edge_locator import owner_connection_string
from central.hub.app import Hub
from central.hub.auth import build_token, new_key
from central.hub.certs import CertPaths
from central.hub.message import Message
from central.hub.server import server_tls_context
from central.service_api import SERVICE_PORT, Identity, ServiceApi, position_since
from tests.agent_modules import terminate
from tests.fixtures.network import free_loopback

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DEVICE = "edge-test"
AGENT_REPORTED = {"modules": {"alpha": {"runtimeStatus": "running", "pid": 4242}}}


def manifest() -> dict[str, Any]:
    return {
        "modulesContent": {
            "$edgeAgent": {"properties.desired": {"schemaVersion": "1.1", "modules": {"alpha": {"status": "running"}}}},
            "$edgeHub": {
                "properties.desired": {"schemaVersion": "1.2", "routes": {"up": "FROM /messages/* INTO $upstream"}}
            },
            "alpha": {"properties.desired": {"level": 1}},
        }
    }


class ServiceUnderTest:
    """Hub + ServiceApi on a private event loop thread, and the echo module connected to it."""

    def __init__(self, state: Path) -> None:
        self.bind = free_loopback()
        self.state = state
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.hub = Hub(manifest(), self.bind, state, device_id=DEVICE)
        self.run(self.hub.start())
        self.identity = Identity(DEVICE, f"{self.bind}:{SERVICE_PORT}", self.hub.hub_owner_key)
        api = ServiceApi(self.hub, self.identity, lambda: AGENT_REPORTED, lambda: {"schemaVersion": "1.1"})
        certs = CertPaths.under(state / "certs")
        self.server = self.run(
            api.serve(self.bind, SERVICE_PORT, server_tls_context(certs.server_cert, certs.server_key))
        )
        self.ca = str(certs.ca_cert)
        self.module = subprocess.Popen(
            [sys.executable, "-m", "tests.agent_modules.echo"],
            cwd=REPO,
            env={**os.environ, **self.hub.module_env("alpha")},
        )
        try:
            deadline = time.monotonic() + 30
            while "alpha" not in self.hub.connected_modules():
                assert time.monotonic() < deadline and self.module.poll() is None, "echo module did not connect"
                time.sleep(0.1)
        except BaseException:  # the fixture never gets to close() what is already running
            self.close()
            raise

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def manager(self, connection_string: str | None = None) -> IoTHubRegistryManager:
        manager = IoTHubRegistryManager.from_connection_string(
            connection_string or owner_connection_string(self.identity.host_name, self.identity.owner_key)
        )
        manager.protocol.config.connection.verify = self.ca
        return manager

    def get(self, path: str, token: str | None = None, **params: Any) -> requests.Response:
        token = token or build_token(self.identity.host_name, self.identity.owner_key) + "&skn=iothubowner"
        url = f"https://{self.identity.host_name}{path}"
        return requests.get(url, params=params, headers={"Authorization": token}, verify=self.ca, timeout=60)

    def close(self) -> None:
        terminate(self.module)
        self.server.close()
        self.run(self.hub.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceUnderTest]:
    running = ServiceUnderTest(tmp_path)
    try:
        yield running
    finally:
        running.close()


def test_invoke_method_through_sdk(service: ServiceUnderTest) -> None:
    request = CloudToDeviceMethod(method_name="echo", payload={"x": [1, 2]}, response_timeout_in_seconds=10)
    result = service.manager().invoke_device_module_method(DEVICE, "alpha", request)
    assert result.status == 200
    assert result.payload["payload"] == {"x": [1, 2]}
    assert result.payload["pid"] == service.module.pid


def test_concurrent_calls_each_get_their_answer(service: ServiceUnderTest) -> None:
    manager = service.manager()

    def call(n: int) -> Any:
        request = CloudToDeviceMethod(method_name="echo", payload=n, response_timeout_in_seconds=10)
        return manager.invoke_device_module_method(DEVICE, "alpha", request).payload["payload"]

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(call, range(16))) == list(range(16))


def test_get_and_patch_module_twin(service: ServiceUnderTest) -> None:
    manager = service.manager()
    twin = manager.get_module_twin(DEVICE, "alpha")
    assert (twin.device_id, twin.module_id, twin.connection_state) == (DEVICE, "alpha", "Connected")
    assert twin.properties.desired["level"] == 1
    patched = manager.update_module_twin(DEVICE, "alpha", Twin(properties=TwinProperties(desired={"level": 3})), "*")
    assert patched.properties.desired["level"] == 3
    assert patched.properties.desired["$version"] == twin.properties.desired["$version"] + 1
    deadline = time.monotonic() + 20
    while manager.get_module_twin(DEVICE, "alpha").properties.reported.get("last_patch") != {"level": 3}:
        assert time.monotonic() < deadline, "the module never reported the desired patch"
        time.sleep(0.2)


def test_edge_agent_twin_carries_agent_status_and_refuses_patches(service: ServiceUnderTest) -> None:
    manager = service.manager()
    twin = manager.get_module_twin(DEVICE, "$edgeAgent")
    assert twin.properties.reported["modules"]["alpha"]["pid"] == 4242
    assert twin.properties.desired["schemaVersion"] == "1.1"
    with pytest.raises(HttpOperationError) as refused:
        manager.update_module_twin(DEVICE, "$edgeAgent", Twin(properties=TwinProperties(desired={"a": 1})), "*")
    assert refused.value.response.status_code == 400


@pytest.mark.parametrize(
    "connection_string",
    [
        "HostName={host};SharedAccessKeyName=iothubowner;SharedAccessKey={other}",
        "HostName={host};SharedAccessKeyName=registryRead;SharedAccessKey={key}",
    ],
)
def test_wrong_key_or_policy_is_401(service: ServiceUnderTest, connection_string: str) -> None:
    text = connection_string.format(host=service.identity.host_name, key=service.identity.owner_key, other=new_key())
    with pytest.raises(HttpOperationError) as refused:
        service.manager(text).get_module_twin(DEVICE, "alpha")
    assert refused.value.response.status_code == 401


def test_expired_or_missing_token_is_401(service: ServiceUnderTest) -> None:
    expired = build_token(service.identity.host_name, service.identity.owner_key, ttl_s=-10) + "&skn=iothubowner"
    assert service.get(f"/twins/{DEVICE}/modules/alpha", token=expired).status_code == 401
    assert service.get(f"/twins/{DEVICE}/modules/alpha", token="Bearer x").status_code == 401


def test_unknown_device_module_and_method_answers(service: ServiceUnderTest) -> None:
    assert service.get("/twins/other-device/modules/alpha").status_code == 404
    assert service.get(f"/twins/{DEVICE}/modules/nobody").status_code == 404
    assert service.get("/devices").status_code == 404
    request = CloudToDeviceMethod(method_name="echo", payload=None, response_timeout_in_seconds=1)
    with pytest.raises(HttpOperationError) as refused:
        service.manager().invoke_device_module_method(DEVICE, "alpha", request)
    assert refused.value.response.status_code == 400  # responseTimeoutInSeconds below 5


def test_upstream_long_poll_returns_when_a_message_arrives(service: ServiceUnderTest) -> None:
    latest = service.get("/local/upstream", after="latest").json()
    assert latest["messages"] == []

    def send_soon() -> None:
        time.sleep(1)
        request = CloudToDeviceMethod(method_name="send", payload={"t": 20.5}, response_timeout_in_seconds=10)
        service.manager().invoke_device_module_method(DEVICE, "alpha", request)

    sender = threading.Thread(target=send_soon)
    sender.start()
    page = service.get("/local/upstream", after=latest["next"], wait=30).json()
    sender.join()
    [message] = page["messages"]
    assert (message["module"], message["body"], page["next"]) == ("alpha", {"t": 20.5}, message["sequence"])
    assert service.get("/local/upstream", after=page["next"]).json()["messages"] == []
    assert service.get("/local/upstream", after="x").status_code == 400
    assert service.get("/local/upstream", wait="nan").status_code == 400


@pytest.mark.parametrize("sequences", [[1, 2, 3, 4, 5, 6, 7], [3, 9, 10, 40, 41, 300], [5], []])
def test_position_since_finds_the_first_recent_message(sequences: list[int]) -> None:
    log = [(seq, Message(b"{}", enqueued_at=float(seq))) for seq in sequences]

    def read(after: int, limit: int) -> list[tuple[int, Message]]:
        return [entry for entry in log if entry[0] > after][:limit]

    for since in [0, 1, 3.5, 9, 10, 41, 299, 1000]:
        after = position_since(read, since)
        assert [n for n, _ in read(after, 1000)] == [n for n in sequences if n >= since], since
    assert read(position_since(read, float("inf")), 1000) == []


def test_upstream_since_a_time(service: ServiceUnderTest) -> None:
    def send(value: int) -> None:
        request = CloudToDeviceMethod(method_name="send", payload={"v": value}, response_timeout_in_seconds=10)
        service.manager().invoke_device_module_method(DEVICE, "alpha", request)

    send(1)
    time.sleep(0.5)
    middle = time.time()
    send(2)
    page = service.get("/local/upstream", since=middle, wait=10).json()
    assert [m["body"] for m in page["messages"]] == [{"v": 2}]
