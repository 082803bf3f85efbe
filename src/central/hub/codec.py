"""MQTT 3.1.1 packets as frozen dataclasses, and the bytes they travel as (sans-I/O).

`decode(buffer)` takes exactly one packet off the front of a bytearray, returns None
while the packet is incomplete (leaving the buffer untouched) and leaves any trailing
bytes for the next call. `encode(packet)` is its inverse. Anything the hub does not
speak (QoS 2 flows, reserved flags, bad UTF-8, oversize packets) is a `ProtocolError`,
which closes that one connection.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

MAX_PAYLOAD = 262_144
"""IoT Hub's and edgeHub's message size limit (MaxInboundMessageSize)."""
MAX_REMAINING_LENGTH = MAX_PAYLOAD + 2 + 65_535 + 2
"""A full-size payload plus the longest topic and a packet id: nothing legitimate is larger."""


class ProtocolError(Exception):
    """The peer sent bytes that are not MQTT 3.1.1 as the hub speaks it."""


@dataclass(frozen=True)
class Will:
    topic: str
    message: bytes
    qos: int = 0
    retain: bool = False


@dataclass(frozen=True)
class Connect:
    client_id: str
    username: str | None = None
    password: bytes | None = None
    keepalive: int = 60
    clean_session: bool = False
    will: Will | None = None
    protocol_name: str = "MQTT"
    protocol_level: int = 4


@dataclass(frozen=True)
class ConnAck:
    return_code: int
    session_present: bool = False


@dataclass(frozen=True)
class Publish:
    topic: str
    payload: bytes
    qos: int = 0
    packet_id: int | None = None
    retain: bool = False
    dup: bool = False


@dataclass(frozen=True)
class PubAck:
    packet_id: int


@dataclass(frozen=True)
class Subscribe:
    packet_id: int
    topics: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class SubAck:
    packet_id: int
    return_codes: tuple[int, ...]


@dataclass(frozen=True)
class Unsubscribe:
    packet_id: int
    topics: tuple[str, ...]


@dataclass(frozen=True)
class UnsubAck:
    packet_id: int


@dataclass(frozen=True)
class PingReq:
    pass


@dataclass(frozen=True)
class PingResp:
    pass


@dataclass(frozen=True)
class Disconnect:
    pass


Packet = (
    Connect | ConnAck | Publish | PubAck | Subscribe | SubAck | Unsubscribe | UnsubAck | PingReq | PingResp | Disconnect
)

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 1, 2, 3, 4, 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14
# Fixed-header flags each type must carry (MQTT 3.1.1 section 2.2.2); PUBLISH's are checked separately.
_REQUIRED_FLAGS = {SUBSCRIBE: 2, UNSUBSCRIBE: 2}


# ---------------------------------------------------------------- decoding

_Decoder = Callable[[int, "_Reader"], Packet]


class _Reader:
    """Reads MQTT fields from one packet's body; running off the end is a protocol error."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.pos = 0

    def take(self, n: int) -> bytes:
        start, end = self.pos, self.pos + n
        if end > len(self.body):
            raise ProtocolError("packet shorter than its fields")
        self.pos = end
        return self.body[start:end]

    def byte(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        pos = self.pos
        if pos + 2 > len(self.body):
            raise ProtocolError("packet shorter than its fields")
        self.pos = pos + 2
        return self.body[pos] << 8 | self.body[pos + 1]

    def binary(self) -> bytes:
        return self.take(self.u16())

    def string(self) -> str:
        raw = self.binary()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolError("string is not valid UTF-8") from e
        if "\x00" in text:
            raise ProtocolError("string contains U+0000")
        return text

    def rest(self) -> bytes:
        chunk = self.body[self.pos :]
        self.pos = len(self.body)
        return chunk

    def at_end(self) -> bool:
        return self.pos >= len(self.body)

    def finish(self) -> None:
        if not self.at_end():
            raise ProtocolError("packet longer than its fields")


def _remaining_length(buffer: bytearray) -> tuple[int, int] | None:
    """(length, bytes used by the length) of the variable-length field after byte 0, or None if cut short."""
    value, shift = 0, 0
    for i in range(1, 5):
        if i >= len(buffer):
            return None
        digit = buffer[i]
        value |= (digit & 0x7F) << shift
        if not digit & 0x80:
            return value, i
        shift += 7
    raise ProtocolError("remaining length longer than 4 bytes")


def decode(buffer: bytearray) -> Packet | None:
    """Take one packet off the front of `buffer`; None (buffer untouched) while it is incomplete."""
    if len(buffer) < 2:
        return None
    if buffer[1] < 0x80:  # packets under 128 bytes: a one-byte length
        length, used = buffer[1], 1
    else:
        header = _remaining_length(buffer)
        if header is None:
            return None
        length, used = header
    if length > MAX_REMAINING_LENGTH:
        raise ProtocolError(f"packet of {length} bytes exceeds the {MAX_REMAINING_LENGTH}-byte limit")
    end = 1 + used + length
    if len(buffer) < end:
        return None
    kind, flags = buffer[0] >> 4, buffer[0] & 0x0F
    body = bytes(buffer[1 + used : end])
    del buffer[:end]
    reader = _DECODERS.get(kind)
    if reader is None:
        raise ProtocolError(f"unsupported packet type {kind}")
    if kind != PUBLISH and flags != _REQUIRED_FLAGS.get(kind, 0):
        raise ProtocolError(f"reserved flags {flags:#x} on packet type {kind}")
    return reader(flags, _Reader(body))


def _decode_connect(_flags: int, r: _Reader) -> Connect:
    protocol_name, protocol_level, flags, keepalive = r.string(), r.byte(), r.byte(), r.u16()
    if flags & 0x01:
        raise ProtocolError("CONNECT reserved flag set")
    client_id = r.string()
    will = None
    if flags & 0x04:
        will = Will(r.string(), r.binary(), (flags >> 3) & 0x03, bool(flags & 0x20))
    elif flags & 0x38:
        raise ProtocolError("will QoS or retain set without a will")
    username = r.string() if flags & 0x80 else None
    password = r.binary() if flags & 0x40 else None
    r.finish()
    return Connect(client_id, username, password, keepalive, bool(flags & 0x02), will, protocol_name, protocol_level)


def _decode_connack(_flags: int, r: _Reader) -> ConnAck:
    ack_flags, code = r.byte(), r.byte()
    r.finish()
    return ConnAck(code, bool(ack_flags & 0x01))


def _decode_publish(flags: int, r: _Reader) -> Publish:
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise ProtocolError("PUBLISH with QoS 3")
    topic = r.string()
    packet_id = r.u16() if qos else None
    payload = r.rest()
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return Publish(topic, payload, qos, packet_id, bool(flags & 0x01), bool(flags & 0x08))


def _decode_packet_id(cls: type[PubAck] | type[UnsubAck]) -> _Decoder:
    def decoder(_flags: int, r: _Reader) -> PubAck | UnsubAck:
        packet_id = r.u16()
        r.finish()
        return cls(packet_id)

    return decoder


def _decode_subscribe(_flags: int, r: _Reader) -> Subscribe:
    packet_id, topics = r.u16(), []
    while not r.at_end():
        topic, qos = r.string(), r.byte()
        if qos & 0xFC:
            raise ProtocolError("SUBSCRIBE requested QoS byte has reserved bits")
        topics.append((topic, qos))
    if not topics:
        raise ProtocolError("SUBSCRIBE without topic filters")
    return Subscribe(packet_id, tuple(topics))


def _decode_suback(_flags: int, r: _Reader) -> SubAck:
    packet_id = r.u16()
    return SubAck(packet_id, tuple(r.rest()))


def _decode_unsubscribe(_flags: int, r: _Reader) -> Unsubscribe:
    packet_id, topics = r.u16(), []
    while not r.at_end():
        topics.append(r.string())
    if not topics:
        raise ProtocolError("UNSUBSCRIBE without topic filters")
    return Unsubscribe(packet_id, tuple(topics))


def _decode_empty(cls: type[PingReq] | type[PingResp] | type[Disconnect]) -> _Decoder:
    def decoder(_flags: int, r: _Reader) -> PingReq | PingResp | Disconnect:
        r.finish()
        return cls()

    return decoder


_DECODERS = {
    CONNECT: _decode_connect,
    CONNACK: _decode_connack,
    PUBLISH: _decode_publish,
    PUBACK: _decode_packet_id(PubAck),
    SUBSCRIBE: _decode_subscribe,
    SUBACK: _decode_suback,
    UNSUBSCRIBE: _decode_unsubscribe,
    UNSUBACK: _decode_packet_id(UnsubAck),
    PINGREQ: _decode_empty(PingReq),
    PINGRESP: _decode_empty(PingResp),
    DISCONNECT: _decode_empty(Disconnect),
}


# ---------------------------------------------------------------- encoding


def _string(text: str) -> bytes:
    return _binary(text.encode("utf-8"))


def _binary(data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise ProtocolError("field longer than 65535 bytes")
    return struct.pack("!H", len(data)) + data


def _frame(first_byte: int, body: bytes) -> bytes:
    length, encoded = len(body), bytearray()
    while True:
        digit, length = length & 0x7F, length >> 7
        encoded.append(digit | (0x80 if length else 0))
        if not length:
            return bytes([first_byte]) + bytes(encoded) + body


def _encode_connect(p: Connect) -> bytes:
    flags = 0x02 if p.clean_session else 0
    payload = _string(p.client_id)
    if p.will is not None:
        flags |= 0x04 | (p.will.qos << 3) | (0x20 if p.will.retain else 0)
        payload += _string(p.will.topic) + _binary(p.will.message)
    if p.username is not None:
        flags |= 0x80
        payload += _string(p.username)
    if p.password is not None:
        flags |= 0x40
        payload += _binary(p.password)
    header = _string(p.protocol_name) + bytes([p.protocol_level, flags]) + struct.pack("!H", p.keepalive)
    return _frame(CONNECT << 4, header + payload)


def _encode_publish(p: Publish) -> bytes:
    flags = (p.qos << 1) | (0x08 if p.dup else 0) | (0x01 if p.retain else 0)
    packet_id = struct.pack("!H", p.packet_id or 0) if p.qos else b""
    return _frame(PUBLISH << 4 | flags, _string(p.topic) + packet_id + p.payload)


def encode(packet: Packet) -> bytes:
    """The bytes of one packet."""
    match packet:
        case Connect():
            return _encode_connect(packet)
        case ConnAck(code, present):
            return _frame(CONNACK << 4, bytes([int(present), code]))
        case Publish():
            return _encode_publish(packet)
        case PubAck(packet_id):
            return _frame(PUBACK << 4, struct.pack("!H", packet_id))
        case Subscribe(packet_id, topics):
            body = b"".join(_string(t) + bytes([q]) for t, q in topics)
            return _frame(SUBSCRIBE << 4 | 2, struct.pack("!H", packet_id) + body)
        case SubAck(packet_id, codes):
            return _frame(SUBACK << 4, struct.pack("!H", packet_id) + bytes(codes))
        case Unsubscribe(packet_id, topics):
            body = b"".join(_string(t) for t in topics)
            return _frame(UNSUBSCRIBE << 4 | 2, struct.pack("!H", packet_id) + body)
        case UnsubAck(packet_id):
            return _frame(UNSUBACK << 4, struct.pack("!H", packet_id))
        case PingReq():
            return _frame(PINGREQ << 4, b"")
        case PingResp():
            return _frame(PINGRESP << 4, b"")
        case Disconnect():
            return _frame(DISCONNECT << 4, b"")
    raise TypeError(f"not an MQTT packet: {packet!r}")
