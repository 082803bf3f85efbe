"""Byte-level tests of the MQTT 3.1.1 codec: one table serves encode and decode.

Every packet is decoded three ways: from the whole buffer, one byte at a time (it must
wait, leaving the buffer alone), and with trailing bytes (they must stay in the buffer).
"""

from __future__ import annotations

import pytest

from central.hub import codec
from central.hub.codec import (
    ConnAck,
    Connect,
    Disconnect,
    PingReq,
    PingResp,
    ProtocolError,
    PubAck,
    Publish,
    SubAck,
    Subscribe,
    UnsubAck,
    Unsubscribe,
    Will,
)

CASES = [
    (
        Connect("edge-local/camera", "hub/edge-local/camera/?api-version=2019-10-01", b"SAS", 60, False),
        bytes.fromhex("10 51 0004 4d515454 04 c0 003c 0011")
        + b"edge-local/camera"
        + b"\x00\x2dhub/edge-local/camera/?api-version=2019-10-01"
        + b"\x00\x03SAS",
    ),
    (Connect("c", keepalive=0, clean_session=True), bytes.fromhex("10 0d 0004 4d515454 04 02 0000 0001 63")),
    (
        Connect("c", will=Will("t", b"bye", qos=1, retain=True)),
        bytes.fromhex("10 15 0004 4d515454 04 2c 003c 0001 63 0001 74 0003 627965"),
    ),
    (ConnAck(0, session_present=True), bytes.fromhex("20 02 01 00")),
    (ConnAck(5), bytes.fromhex("20 02 00 05")),
    (Publish("a/b", b"hi"), bytes.fromhex("30 07 0003 612f62 6869")),
    (Publish("a", b"", qos=1, packet_id=7, dup=True, retain=True), bytes.fromhex("3b 05 0001 61 0007")),
    (Publish("t", b"x" * 200, qos=1, packet_id=1), bytes.fromhex("32 cd01 0001 74 0001") + b"x" * 200),
    (PubAck(0x1234), bytes.fromhex("40 02 1234")),
    (Subscribe(1, (("a/#", 1), ("$b", 0))), bytes.fromhex("82 0d 0001 0003 612f23 01 0002 2462 00")),
    (SubAck(1, (1, 0x80)), bytes.fromhex("90 04 0001 01 80")),
    (Unsubscribe(2, ("a/#",)), bytes.fromhex("a2 07 0002 0003 612f23")),
    (UnsubAck(2), bytes.fromhex("b0 02 0002")),
    (PingReq(), bytes.fromhex("c0 00")),
    (PingResp(), bytes.fromhex("d0 00")),
    (Disconnect(), bytes.fromhex("e0 00")),
]
IDS = [type(packet).__name__ for packet, _ in CASES]


@pytest.mark.parametrize(("packet", "data"), CASES, ids=IDS)
def test_encode(packet: codec.Packet, data: bytes) -> None:
    assert codec.encode(packet) == data


@pytest.mark.parametrize(("packet", "data"), CASES, ids=IDS)
def test_decode_whole(packet: codec.Packet, data: bytes) -> None:
    buffer = bytearray(data)
    assert codec.decode(buffer) == packet
    assert buffer == b""


@pytest.mark.parametrize(("packet", "data"), CASES, ids=IDS)
def test_decode_byte_by_byte(packet: codec.Packet, data: bytes) -> None:
    buffer = bytearray()
    for byte in data[:-1]:
        buffer.append(byte)
        assert codec.decode(buffer) is None
        assert len(buffer) > 0
    buffer.append(data[-1])
    assert codec.decode(buffer) == packet
    assert buffer == b""


@pytest.mark.parametrize(("packet", "data"), CASES, ids=IDS)
def test_decode_leaves_trailing_bytes(packet: codec.Packet, data: bytes) -> None:
    trailing = codec.encode(PingReq()) + b"\x30"
    buffer = bytearray(data + trailing)
    assert codec.decode(buffer) == packet
    assert buffer == trailing


def test_decode_empty_buffer_waits() -> None:
    assert codec.decode(bytearray()) is None


def test_largest_payload_round_trips() -> None:
    packet = Publish("devices/d/modules/m/messages/events/", b"\x00" * codec.MAX_PAYLOAD, qos=1, packet_id=9)
    assert codec.decode(bytearray(codec.encode(packet))) == packet


MALFORMED = [
    ("oversize remaining length", bytes([0x30]) + bytes.fromhex("ffffff7f")),
    ("five-byte remaining length", bytes.fromhex("30 ff ff ff ff 01")),
    ("QoS 2 handshake packet", bytes.fromhex("50 02 0001")),
    ("reserved packet type 0", bytes.fromhex("00 00")),
    ("PUBLISH with QoS 3", bytes.fromhex("36 05 0001 61 0001")),
    ("SUBSCRIBE with wrong flags", bytes.fromhex("80 06 0001 0001 61 01")),
    ("SUBSCRIBE without filters", bytes.fromhex("82 02 0001")),
    ("SUBSCRIBE with reserved QoS bits", bytes.fromhex("82 06 0001 0001 61 05")),
    ("UNSUBSCRIBE without filters", bytes.fromhex("a2 02 0001")),
    ("PINGREQ with a body", bytes.fromhex("c0 01 00")),
    ("PUBACK too short", bytes.fromhex("40 01 00")),
    ("PUBACK too long", bytes.fromhex("40 03 000100")),
    ("string longer than packet", bytes.fromhex("30 03 0005 61")),
    ("invalid UTF-8 topic", bytes.fromhex("30 04 0002 c328")),
    ("NUL in topic", bytes.fromhex("30 04 0002 6100")),
    ("CONNECT reserved flag", bytes.fromhex("10 0d 0004 4d515454 04 03 0000 0001 63")),
    ("CONNECT will QoS without will", bytes.fromhex("10 0d 0004 4d515454 04 08 0000 0001 63")),
]


@pytest.mark.parametrize("data", [d for _, d in MALFORMED], ids=[n for n, _ in MALFORMED])
def test_malformed_packets_raise(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        codec.decode(bytearray(data))


def test_oversize_payload_refused() -> None:
    too_big = Publish("t", b"x" * (codec.MAX_PAYLOAD + 1))
    with pytest.raises(ProtocolError, match="exceeds"):
        codec.decode(bytearray(codec.encode(too_big)))


def test_oversize_refused_before_the_body_arrives() -> None:
    header = bytes([0x30]) + bytes.fromhex("ffff7f")  # 2 MB announced, nothing sent
    with pytest.raises(ProtocolError, match="limit"):
        codec.decode(bytearray(header))
