"""The per-connection state machine, driven with real packets and real credential checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.hub import codec, session
from central.hub.auth import KeyStore, build_token, resource_uri
from central.hub.connections import Connections, SubscriptionStore
from central.hub.session import Closed, Connected, Limits, Session
from central.hub.topics import Subscription

HUB, DEVICE = "central-edge.local", "edge-local"
EVENTS = f"devices/{DEVICE}/modules/camera/messages/events/"


@pytest.fixture
def connections(tmp_path: Path) -> Connections:
    keys = KeyStore(tmp_path / "keys.json")
    keys.ensure(["camera", "sensor"])
    conns = Connections(keys, SubscriptionStore(tmp_path / "hub.db"), DEVICE, HUB)
    conns.modules = frozenset({"camera", "sensor"})
    return conns


def connect_packet(
    conns: Connections, module: str = "camera", key: str | None = None, ttl_s: int = 60, **kw: object
) -> codec.Connect:
    token = build_token(resource_uri(HUB, DEVICE, module), key or conns.keys.key_for(module) or "", ttl_s=ttl_s)
    fields: dict = {
        "client_id": f"{DEVICE}/{module}",
        "username": f"{HUB}/{DEVICE}/{module}/?api-version=2019-10-01",
        "password": token.encode(),
    }
    fields.update(kw)
    return codec.Connect(**fields)


class Peer:
    """A module's end of one session: packets in, events and decoded packets out."""

    def __init__(self, conns: Connections, limits: Limits | None = None) -> None:
        self.session = Session(conns, now=0.0, limits=limits)
        self.now = 0.0

    def send(self, *packets: codec.Packet) -> list[session.Event]:
        return self.session.receive_data(b"".join(codec.encode(p) for p in packets), self.now)

    def received(self) -> list[codec.Packet]:
        buffer, packets = bytearray(self.session.data_to_send()), []
        while (packet := codec.decode(buffer)) is not None:
            packets.append(packet)
        return packets


@pytest.fixture
def peer(connections: Connections) -> Peer:
    p = Peer(connections)
    assert p.send(connect_packet(connections)) == [Connected(session.Identity(DEVICE, "camera"), frozenset())]
    assert p.received() == [codec.ConnAck(0)]
    return p


def test_connack_bytes(connections: Connections) -> None:
    p = Peer(connections)
    p.send(connect_packet(connections))
    assert p.session.data_to_send() == bytes.fromhex("20 02 00 00")


@pytest.mark.parametrize(
    ("change", "code", "reason"),
    [
        ({"key": "c2VjcmV0"}, 5, "signature"),
        ({"ttl_s": -1}, 5, "expired"),
        ({"client_id": "edge-local/vision"}, 5, "not in the manifest"),
        ({"client_id": "other/camera"}, 5, "client id"),
        ({"username": "central-edge.local/edge-local/sensor/"}, 4, "username"),
        ({"password": None}, 4, "no SAS token"),
        ({"module": "sensor", "client_id": "edge-local/camera", "username": f"{HUB}/{DEVICE}/camera/"}, 5, "is for"),
        ({"protocol_level": 3}, 1, "level 3"),
    ],
)
def test_refused_connect(connections: Connections, change: dict, code: int, reason: str) -> None:
    p = Peer(connections)
    events = p.send(connect_packet(connections, **change))
    assert p.received() == [codec.ConnAck(code)]
    assert len(events) == 1
    assert isinstance(events[0], Closed)
    assert reason in events[0].reason
    assert p.send(codec.PingReq()) == []


def test_first_packet_must_be_connect(connections: Connections) -> None:
    p = Peer(connections)
    [event] = p.send(codec.PingReq())
    assert isinstance(event, Closed)
    assert p.received() == []


def test_telemetry_is_acknowledged_only_when_the_hub_says(peer: Peer) -> None:
    [event] = peer.send(codec.Publish(EVENTS + "$.on=out&a=1", b"body", qos=1, packet_id=3))
    assert isinstance(event, session.TelemetryReceived)
    assert (event.packet_id, event.body, event.telemetry.properties) == (3, b"body", {"a": "1"})
    assert peer.received() == []
    peer.session.acknowledge(3)
    assert peer.session.data_to_send() == bytes.fromhex("40 02 0003")


@pytest.mark.parametrize(
    "packet",
    [
        codec.Publish("devices/edge-local/modules/sensor/messages/events/", b"", qos=1, packet_id=1),
        codec.Publish(EVENTS, b"", qos=2, packet_id=1),
        codec.ConnAck(0),
        codec.Connect("edge-local/camera"),
    ],
    ids=["as another module", "QoS 2", "server packet", "second CONNECT"],
)
def test_forbidden_packets_close(peer: Peer, packet: codec.Packet) -> None:
    [event] = peer.send(packet)
    assert isinstance(event, Closed)


def test_malformed_bytes_close(peer: Peer) -> None:
    [event] = peer.session.receive_data(bytes.fromhex("c0 01 00"), 1.0)
    assert isinstance(event, Closed)
    assert "protocol error" in event.reason


def test_twin_and_method_topics(peer: Peer) -> None:
    events = peer.send(
        codec.Publish("$iothub/twin/GET/?$rid=1", b" ", qos=1, packet_id=5),
        codec.Publish("$iothub/twin/PATCH/properties/reported/?$rid=2", b"{}", qos=0),
        codec.Publish("$iothub/methods/res/200/?$rid=9", b"{}", qos=1, packet_id=6),
    )
    assert events == [
        session.TwinGetRequested("1"),
        session.ReportedPatchReceived("2", b"{}"),
        session.MethodResponded("9", 200, b"{}"),
    ]
    assert peer.received() == [codec.PubAck(5), codec.PubAck(6)]


def test_subscriptions_are_granted_refused_and_kept(peer: Peer, connections: Connections) -> None:
    inputs = "devices/edge-local/modules/camera/inputs/#"
    events = peer.send(codec.Subscribe(1, ((inputs, 1), ("$iothub/methods/POST/#", 2), ("#", 0))))
    assert events == [session.Subscribed(frozenset({Subscription.INPUTS, Subscription.METHODS}))]
    assert peer.received() == [codec.SubAck(1, (1, 1, 0x80))]
    connections.subscriptions.add("camera", events[0].added)

    again = Peer(connections)
    [connected] = again.send(connect_packet(connections))
    assert connected.subscriptions == {Subscription.INPUTS, Subscription.METHODS}
    assert again.received() == [codec.ConnAck(0, session_present=True)]
    assert again.send(codec.Unsubscribe(2, (inputs,))) == [session.Unsubscribed(frozenset({Subscription.INPUTS}))]
    assert again.received() == [codec.UnsubAck(2)]

    clean = Peer(connections)
    [connected] = clean.send(connect_packet(connections, clean_session=True))
    assert connected.subscriptions == frozenset()
    assert connections.subscriptions.load("camera") == frozenset()


def test_hub_publish_is_delivered_on_puback(peer: Peer) -> None:
    packet_id = peer.session.publish("devices/edge-local/modules/camera/inputs/in/", b"x", qos=1)
    assert peer.received() == [codec.Publish("devices/edge-local/modules/camera/inputs/in/", b"x", 1, packet_id)]
    assert peer.send(codec.PubAck(packet_id + 100)) == []
    assert peer.send(codec.PubAck(packet_id)) == [session.Delivered(packet_id)]
    assert peer.send(codec.PubAck(packet_id)) == []


def test_ping(peer: Peer) -> None:
    assert peer.send(codec.PingReq()) == []
    assert peer.received() == [codec.PingResp()]


def test_keepalive_expiry(peer: Peer) -> None:
    assert peer.session.deadline() == 90.0
    assert peer.session.timeout(89.0) == []
    [event] = peer.session.timeout(90.0)
    assert event == Closed("keepalive expired")


def test_no_connect_in_time(connections: Connections) -> None:
    p = Peer(connections)
    [event] = p.session.timeout(10.0)
    assert event == Closed("no CONNECT in time")


def test_too_many_unacknowledged_publishes_is_a_flood(connections: Connections) -> None:
    p = Peer(connections, Limits(max_inflight=2))
    p.send(connect_packet(connections))
    events = p.send(*(codec.Publish(EVENTS, b"", qos=1, packet_id=i) for i in (1, 2, 3)))
    assert isinstance(events[-1], Closed)
    assert "in flight" in events[-1].reason


def test_packet_rate_flood(connections: Connections) -> None:
    p = Peer(connections, Limits(rate_per_s=10, burst=5))
    p.send(connect_packet(connections))
    assert p.send(*[codec.PingReq()] * 4) == []
    p.now = 0.05  # half a token regained: not enough for two more packets
    [event] = p.send(codec.PingReq(), codec.PingReq())
    assert "flood" in event.reason
