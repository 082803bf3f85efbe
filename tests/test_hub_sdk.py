"""End to end: the unmodified azure-iot-device SDK against the local hub, over TLS on loopback.

Module clients are made the production way (`create_from_edge_environment` with the
IOTEDGE_* variables the hub hands out) and talk to a hub on their own 127.x.y.z address.
"""

from __future__ import annotations

import json
import logging
import queue
import signal
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.iot.device import Message, MethodResponse
from azure.iot.device.exceptions import ClientError, CredentialError

from central.hub.auth import KeyStore
from central.hub.methods import MethodError
from tests.fixtures.hub import create_module_client, hub_process, make_manifest
from tests.fixtures.network import free_loopback

pytestmark = pytest.mark.slow

ROUTES = {
    "hot": {
        "route": "FROM /messages/modules/sensor/outputs/temperature WHERE $body.temp > 25 "
        'INTO BrokeredEndpoint("/modules/filter/inputs/hot")',
        "priority": 1,
    },
    "all": 'FROM /messages/modules/sensor/outputs/all INTO BrokeredEndpoint("/modules/filter/inputs/all")',
    "up": "FROM /messages/modules/filter/* INTO $upstream",
}
MANIFEST = make_manifest({"sensor": {"interval": 5}, "filter": {"threshold": {"max": 25}}}, ROUTES)


def json_message(document: dict[str, Any], **custom: str) -> Message:
    message = Message(json.dumps(document), content_encoding="utf-8", content_type="application/json")
    message.custom_properties = dict(custom)
    return message


def inbox(client: Any) -> queue.Queue[Message]:
    received: queue.Queue[Message] = queue.Queue()
    client.on_message_received = received.put
    return received


def echo_methods(client: Any) -> None:
    def answer(request: Any) -> None:
        if request.name == "echo":
            client.send_method_response(MethodResponse.create_from_method_request(request, 200, request.payload))
        elif request.name != "silent":
            client.send_method_response(MethodResponse.create_from_method_request(request, 404, {"error": "?"}))

    client.on_method_request_received = answer


def test_output_is_routed_to_input_with_conditions(start_hub: Any) -> None:
    hub = start_hub(MANIFEST)
    sensor, filter_ = hub.module_client("sensor"), hub.module_client("filter")
    received = inbox(filter_)
    sensor.send_message_to_output(json_message({"temp": 20}, seq="1"), "temperature")
    sensor.send_message_to_output(json_message({"temp": 30}, seq="2"), "temperature")
    sensor.send_message_to_output(Message("plain"), "all")

    got = {m.input_name: m for m in (received.get(timeout=20), received.get(timeout=20))}
    assert set(got) == {"hot", "all"}
    hot = got["hot"]
    assert json.loads(hot.data) == {"temp": 30}
    assert hot.custom_properties == {"seq": "2", "$.cdid": "edge-local", "$.cmid": "sensor"}
    assert hot.content_type == "application/json"
    assert got["all"].data == b"plain"
    assert received.empty()


def test_messages_to_upstream_are_logged(start_hub: Any) -> None:
    hub = start_hub(MANIFEST)
    hub.module_client("filter").send_message_to_output(Message("alert", message_id="m1"), "alerts")
    hub.wait_until(lambda: len(hub.upstream()) == 1)
    [(_, message)] = hub.upstream()
    assert message.body == b"alert"
    assert message.system["messageId"] == "m1"
    assert message.source == "/messages/modules/filter/outputs/alerts"


def test_direct_methods(start_hub: Any) -> None:
    hub = start_hub(MANIFEST)
    echo_methods(hub.module_client("filter"))
    assert hub.invoke_method("filter", "echo", {"a": [1, "é"]}) == (200, {"a": [1, "é"]})
    assert hub.invoke_method("filter", "nope", None) == (404, {"error": "?"})
    for module, method, payload, timeout_s, status in [
        ("sensor", "echo", {}, 30, 404),  # not connected
        ("filter", "echo", "x" * 140_000, 30, 413),
        ("filter", "echo", {}, 1, 400),
        ("filter", "silent", {}, 5, 504),
    ]:
        with pytest.raises(MethodError) as failure:
            hub.invoke_method(module, method, payload, timeout_s)
        assert failure.value.status == status


def test_twins(start_hub: Any) -> None:
    hub = start_hub(MANIFEST)
    client = hub.module_client("filter")
    patches: queue.Queue[dict[str, Any]] = queue.Queue()
    client.on_twin_desired_properties_patch_received = patches.put

    twin = client.get_twin()
    assert twin["desired"] == {"threshold": {"max": 25}, "$version": 1}
    client.patch_twin_reported_properties({"state": {"ok": True, "n": 1}})
    client.patch_twin_reported_properties({"state": {"n": None}, "fw": "1.0"})
    assert hub.get_twin("filter")["reported"] == {"state": {"ok": True}, "fw": "1.0", "$version": 3}

    hub.patch_desired("filter", {"threshold": {"min": 0}})
    assert patches.get(timeout=10) == {"threshold": {"min": 0}, "$version": 2}
    assert client.get_twin()["desired"] == {"threshold": {"max": 25, "min": 0}, "$version": 2}

    with pytest.raises(ClientError) as refused:
        client.patch_twin_reported_properties({"big": "x" * 40_000})
    assert "400" in str(refused.value.__cause__)
    assert "big" not in hub.get_twin("filter")["reported"]


def test_manifest_update_pushes_desired_and_routes(start_hub: Any) -> None:
    hub = start_hub(MANIFEST)
    sensor, filter_ = hub.module_client("sensor"), hub.module_client("filter")
    patches: queue.Queue[dict[str, Any]] = queue.Queue()
    filter_.on_twin_desired_properties_patch_received = patches.put
    received = inbox(filter_)
    routes = {"new": 'FROM /messages/modules/sensor/outputs/other INTO BrokeredEndpoint("/modules/filter/inputs/x")'}
    hub.apply_manifest(make_manifest({"sensor": {}, "filter": {"threshold": {"max": 30}}}, routes))
    assert patches.get(timeout=10) == {"threshold": {"max": 30}, "$version": 2}
    sensor.send_message_to_output(Message("1"), "other")
    assert received.get(timeout=20).input_name == "x"


def test_wrong_key_is_refused(start_hub: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    hub = start_hub(MANIFEST)
    ca = hub.state_dir / "certs" / "ca.pem"

    def connection_string(key: str) -> dict[str, str]:
        return {
            "EdgeHubConnectionString": f"HostName=central-edge.local;GatewayHostName={hub.bind};"
            f"DeviceId=edge-local;ModuleId=filter;SharedAccessKey={key}",
            "EdgeModuleCACertificateFile": str(ca),
        }

    good = create_module_client(connection_string(KeyStore(hub.state_dir / "keys.json").key_for("filter")))
    try:
        good.connect()  # the EdgeHubConnectionString fallback works too
    finally:
        good.shutdown()

    bad = create_module_client(connection_string("d3Jvbmcga2V5IHdyb25nIGtleSB3cm9uZyBrZXkhIQ=="))
    try:
        with caplog.at_level(logging.INFO), pytest.raises(CredentialError):
            bad.connect()
    finally:
        bad.shutdown()
    refusals = [r for r in caplog.records if r.name.startswith("central.") and "refused" in r.getMessage()]
    assert len(refusals) == 1
    assert "signature" in refusals[0].getMessage()


@pytest.mark.parametrize(
    "data",
    [b"\x00\x00", bytes.fromhex("10 ff ff 7f"), bytes.fromhex("c0 00") * 50],
    ids=["malformed", "oversize", "no CONNECT first"],
)
def test_a_bad_connection_is_closed_alone(start_hub: Any, data: bytes) -> None:
    hub = start_hub(MANIFEST)
    echo_methods(hub.module_client("filter"))
    context = ssl.create_default_context(cafile=hub.state_dir / "certs" / "ca.pem")
    with socket.create_connection((hub.bind, 8883)) as raw, context.wrap_socket(raw, server_hostname=hub.bind) as tls:
        tls.sendall(data)
        tls.settimeout(10)
        assert tls.recv(16) == b""
    assert hub.invoke_method("filter", "echo", 1) == (200, 1)


def test_workload_api_checks_api_version(start_hub: Any) -> None:
    hub = start_hub(MANIFEST)
    uri = hub.module_env("filter")["IOTEDGE_WORKLOADURI"]
    refused = requests.get(f"{uri}trust-bundle", params={"api-version": "1999-01-01"}, timeout=5)
    assert refused.status_code == 400
    assert "1999-01-01" in refused.json()["message"]
    env_file = hub.state_dir / "modules" / "filter.env"
    assert env_file.read_text().splitlines() == [f"{k}={v}" for k, v in hub.module_env("filter").items()]


def test_metrics_name_connected_modules(start_hub: Any) -> None:
    hub = start_hub(MANIFEST)
    hub.module_client("sensor")
    text = requests.get(f"http://{hub.bind}:9600/metrics", timeout=5).text
    assert "edgehub_connected_modules 1" in text
    assert 'edgehub_module_connected{module="sensor"} 1' in text


def test_modules_carry_on_after_the_hub_is_killed(tmp_path: Path) -> None:
    bind, state_dir = free_loopback(), tmp_path / "state"
    manifest_path = tmp_path / "manifest.json"
    manifest_path.write_text(json.dumps(MANIFEST))
    with hub_process(manifest_path, state_dir, bind) as first:
        clients = {m: _client_from_env_file(state_dir, m) for m in ("sensor", "filter")}
        received = inbox(clients["filter"])
        clients["sensor"].send_message_to_output(Message("before"), "all")
        assert received.get(timeout=20).data == b"before"
        first.send_signal(signal.SIGKILL)
        first.wait()
    try:
        with hub_process(manifest_path, state_dir, bind) as second:
            clients["sensor"].send_message_to_output(Message("after"), "all")
            # At least once: "before" comes again if the kill beat the store's record of its PUBACK.
            bodies = [received.get(timeout=60).data]
            while bodies[-1] != b"after":
                bodies.append(received.get(timeout=60).data)
            assert set(bodies[:-1]) <= {b"before"}
        assert second.returncode == 0  # SIGTERM is a clean stop
    finally:
        for client in clients.values():
            client.shutdown()


def _client_from_env_file(state_dir: Path, module: str) -> Any:
    lines = (state_dir / "modules" / f"{module}.env").read_text().splitlines()
    client = create_module_client(dict(line.split("=", 1) for line in lines), connection_retry_interval=1)
    client.connect()
    return client
