"""One MQTT connection from a module, as a sans-I/O state machine.

Bytes go in through `receive_data(data, now)`; what the hub must act on comes out as
events; bytes to write accumulate in `data_to_send()`. The rules, in one place:

- AWAIT_CONNECT: the first packet must be CONNECT (protocol "MQTT" level 4, else CONNACK 1).
  The host authenticates it; a refusal sends CONNACK with its code and closes. Success
  sends CONNACK (session present when stored subscriptions exist and clean_session=0)
  and emits `Connected`. No CONNECT within `connect_timeout_s` closes the connection.
- CONNECTED:
  - PUBLISH QoS 0/1 to the module's own event topic → `TelemetryReceived`; the host calls
    `acknowledge(packet_id)` once the message is durable. Twin and method-response topics
    → `TwinGetRequested`, `ReportedPatchReceived`, `MethodResponded` (acknowledged at once).
    QoS 2, or a topic the module may not publish to, closes the connection.
  - SUBSCRIBE: each filter the module may use is granted at QoS min(requested, 1), others get
    0x80; `Subscribed` names the new ones. UNSUBSCRIBE likewise → `Unsubscribed`.
  - PUBACK for a hub publish → `Delivered`. PINGREQ → PINGRESP. DISCONNECT closes.
  - More than `max_inflight` unacknowledged QoS 1 publishes, or packets arriving faster than
    the rate limit allows, is a flood: the connection closes.
  - Silence for 1.5 × keepalive closes the connection.
- CLOSED: everything is ignored. `Closed(reason)` is emitted exactly once.
Malformed or oversize packets (codec.ProtocolError) close the connection.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from central.hub import codec
from central.hub.topics import (
    MethodResponse,
    Subscription,
    Telemetry,
    TopicError,
    TwinGet,
    TwinReportedPatch,
    parse_filter,
    parse_publish,
)

log = logging.getLogger(__name__)

CONNACK_ACCEPTED = 0
CONNACK_BAD_PROTOCOL = 1
CONNACK_BAD_CREDENTIALS = 4
CONNACK_NOT_AUTHORIZED = 5
SUBACK_FAILURE = 0x80


@dataclass(frozen=True)
class Identity:
    device_id: str
    module_id: str


class Refused(Exception):
    """A CONNECT the host will not accept; `code` goes into the CONNACK."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class SessionHost(Protocol):
    """What a session needs from the hub: credential checks and persisted subscriptions."""

    def authenticate(self, connect: codec.Connect) -> Identity:
        """The identity a CONNECT proves, or raise Refused."""
        ...

    def restore_subscriptions(self, identity: Identity, clean: bool) -> frozenset[Subscription]:
        """Subscriptions kept from an earlier session (cleared, and empty, when `clean`)."""
        ...


@dataclass(frozen=True)
class Limits:
    max_inflight: int = 100
    rate_per_s: float = 20_000.0
    burst: float = 40_000.0
    connect_timeout_s: float = 10.0


@dataclass(frozen=True)
class Connected:
    identity: Identity
    subscriptions: frozenset[Subscription]


@dataclass(frozen=True)
class TelemetryReceived:
    packet_id: int | None
    telemetry: Telemetry
    body: bytes


@dataclass(frozen=True)
class TwinGetRequested:
    rid: str


@dataclass(frozen=True)
class ReportedPatchReceived:
    rid: str
    body: bytes


@dataclass(frozen=True)
class MethodResponded:
    rid: str
    status: int
    body: bytes


@dataclass(frozen=True)
class Subscribed:
    added: frozenset[Subscription]


@dataclass(frozen=True)
class Unsubscribed:
    removed: frozenset[Subscription]


@dataclass(frozen=True)
class Delivered:
    packet_id: int


@dataclass(frozen=True)
class Closed:
    reason: str


Event = (
    Connected
    | TelemetryReceived
    | TwinGetRequested
    | ReportedPatchReceived
    | MethodResponded
    | Subscribed
    | Unsubscribed
    | Delivered
    | Closed
)


class State(enum.Enum):
    AWAIT_CONNECT = "await-connect"
    CONNECTED = "connected"
    CLOSED = "closed"


class _Close(Exception):
    """Internal: end the connection for `reason` (translated to a Closed event at the boundary)."""


class Session:
    """The hub side of one module connection."""

    def __init__(self, host: SessionHost, now: float, limits: Limits | None = None) -> None:
        self.host = host
        self.limits = limits or Limits()
        self.state = State.AWAIT_CONNECT
        self.identity: Identity | None = None
        self.subscriptions: set[Subscription] = set()
        self.keepalive_s = 0
        self._buffer = bytearray()
        self._out = bytearray()
        self._last_seen = now
        self._tokens = self.limits.burst
        self._bucket_time = now
        self._unacked_in: set[int] = set()
        self._unacked_out: set[int] = set()
        self._next_id = 0

    # ------------------------------------------------------------ inputs

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        if self.state is State.CLOSED:
            return []
        self._buffer += data
        self._last_seen = now
        events: list[Event] = []
        try:
            while self.state is not State.CLOSED and (packet := codec.decode(self._buffer)) is not None:
                self._spend_token(now)
                events.extend(self._handle(packet))
        except codec.ProtocolError as e:
            events.append(self._close(f"protocol error: {e}"))
        except _Close as e:
            events.append(self._close(str(e)))
        return events

    def timeout(self, now: float) -> list[Event]:
        """Close the connection if the client has been silent past its deadline."""
        if self.state is not State.CLOSED and now >= self.deadline():
            return [self._close("keepalive expired" if self.identity else "no CONNECT in time")]
        return []

    def connection_lost(self) -> list[Event]:
        if self.state is State.CLOSED:
            return []
        return [self._close("connection lost")]

    # ------------------------------------------------------------ outputs

    def data_to_send(self) -> bytes:
        data, self._out = bytes(self._out), bytearray()
        return data

    def deadline(self) -> float:
        if self.state is State.AWAIT_CONNECT:
            return self._last_seen + self.limits.connect_timeout_s
        if not self.keepalive_s:
            return float("inf")
        return self._last_seen + 1.5 * self.keepalive_s

    def acknowledge(self, packet_id: int | None) -> None:
        """PUBACK a received QoS 1 publish (QoS 0 has nothing to acknowledge)."""
        if packet_id is None or self.state is State.CLOSED:
            return
        self._unacked_in.discard(packet_id)
        self._send(codec.PubAck(packet_id))

    def publish(self, topic: str, payload: bytes, qos: int = 0) -> int | None:
        """Queue a PUBLISH to the module; for QoS 1 the packet id that `Delivered` will name."""
        packet_id = self._new_packet_id() if qos else None
        if packet_id is not None:
            self._unacked_out.add(packet_id)
        self._send(codec.Publish(topic, payload, qos, packet_id))
        return packet_id

    def close(self, reason: str) -> list[Event]:
        """Close from the hub's side (for example a newer connection for the same module)."""
        if self.state is State.CLOSED:
            return []
        return [self._close(reason)]

    # ------------------------------------------------------------ internals

    def _send(self, packet: codec.Packet) -> None:
        self._out += codec.encode(packet)

    def _close(self, reason: str) -> Closed:
        self.state = State.CLOSED
        return Closed(reason)

    def _new_packet_id(self) -> int:
        for _ in range(65_535):
            self._next_id = self._next_id % 65_535 + 1
            if self._next_id not in self._unacked_out:
                return self._next_id
        raise _Close("no free packet id: 65535 publishes unacknowledged")

    def _spend_token(self, now: float) -> None:
        elapsed = max(0.0, now - self._bucket_time)
        self._bucket_time = now
        self._tokens = min(self.limits.burst, self._tokens + elapsed * self.limits.rate_per_s)
        if self._tokens < 1:
            raise _Close(f"flood: more than {self.limits.rate_per_s:g} packets/s")
        self._tokens -= 1

    def _handle(self, packet: codec.Packet) -> Iterable[Event]:
        if self.state is State.AWAIT_CONNECT:
            if not isinstance(packet, codec.Connect):
                raise _Close(f"first packet is {type(packet).__name__}, not CONNECT")
            return self._on_connect(packet)
        match packet:
            case codec.Publish():
                return self._on_publish(packet)
            case codec.Subscribe():
                return self._on_subscribe(packet)
            case codec.Unsubscribe():
                return self._on_unsubscribe(packet)
            case codec.PubAck(packet_id):
                return self._on_puback(packet_id)
            case codec.PingReq():
                self._send(codec.PingResp())
                return []
            case codec.Disconnect():
                return [self._close("client disconnected")]
        raise _Close(f"unexpected {type(packet).__name__} from a client")

    def _on_connect(self, connect: codec.Connect) -> list[Event]:
        if connect.protocol_name != "MQTT" or connect.protocol_level != 4:
            self._send(codec.ConnAck(CONNACK_BAD_PROTOCOL))
            raise _Close(f"protocol {connect.protocol_name!r} level {connect.protocol_level} refused")
        try:
            identity = self.host.authenticate(connect)
        except Refused as e:
            self._send(codec.ConnAck(e.code))
            raise _Close(f"CONNECT from {connect.client_id!r} refused: {e.reason}") from e
        stored = self.host.restore_subscriptions(identity, connect.clean_session)
        self.identity, self.keepalive_s = identity, connect.keepalive
        self.subscriptions = set(stored)
        self.state = State.CONNECTED
        self._send(codec.ConnAck(CONNACK_ACCEPTED, session_present=bool(stored)))
        return [Connected(identity, frozenset(stored))]

    def _on_publish(self, publish: codec.Publish) -> list[Event]:
        assert self.identity is not None
        if publish.qos > 1:
            raise _Close("QoS 2 is not supported by IoT Hub")
        try:
            operation = parse_publish(publish.topic, self.identity.device_id, self.identity.module_id)
        except TopicError as e:
            raise _Close(str(e)) from e
        if isinstance(operation, Telemetry):
            if publish.packet_id is not None:
                self._unacked_in.add(publish.packet_id)
                if len(self._unacked_in) > self.limits.max_inflight:
                    raise _Close(f"flood: more than {self.limits.max_inflight} publishes in flight")
            return [TelemetryReceived(publish.packet_id, operation, publish.payload)]
        self.acknowledge(publish.packet_id)
        match operation:
            case TwinGet(rid):
                return [TwinGetRequested(rid)]
            case TwinReportedPatch(rid):
                return [ReportedPatchReceived(rid, publish.payload)]
            case MethodResponse(rid, status):
                return [MethodResponded(rid, status, publish.payload)]
        raise AssertionError(operation)

    def _on_subscribe(self, subscribe: codec.Subscribe) -> list[Event]:
        assert self.identity is not None
        codes, added = [], set()
        for topic_filter, qos in subscribe.topics:
            try:
                kind = parse_filter(topic_filter, self.identity.device_id, self.identity.module_id)
            except TopicError as e:
                log.warning("subscription refused: %s", e)
                codes.append(SUBACK_FAILURE)
                continue
            codes.append(min(qos, 1))
            if kind not in self.subscriptions:
                added.add(kind)
        self.subscriptions |= added
        self._send(codec.SubAck(subscribe.packet_id, tuple(codes)))
        return [Subscribed(frozenset(added))] if added else []

    def _on_unsubscribe(self, unsubscribe: codec.Unsubscribe) -> list[Event]:
        assert self.identity is not None
        removed = set()
        for topic_filter in unsubscribe.topics:
            try:
                removed.add(parse_filter(topic_filter, self.identity.device_id, self.identity.module_id))
            except TopicError:
                continue
        removed &= self.subscriptions
        self.subscriptions -= removed
        self._send(codec.UnsubAck(unsubscribe.packet_id))
        return [Unsubscribed(frozenset(removed))] if removed else []

    def _on_puback(self, packet_id: int) -> list[Event]:
        if packet_id not in self._unacked_out:
            log.debug("PUBACK for unknown packet id %d ignored", packet_id)
            return []
        self._unacked_out.remove(packet_id)
        return [Delivered(packet_id)]
