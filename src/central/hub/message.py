"""The one message type shared by the protocol head, the router and the store.

System properties are keyed by edgeHub's own names (messageId, correlationId, userId, contentType,
contentEncoding, connectionDeviceId, connectionModuleId, outputName, inputName, enqueuedTime,
expiryTimeUtc, ...); central.hub.topics maps them to and from the `$.xx` keys of MQTT topics.
`to_bytes`/`from_bytes` is the store's format: a 4-byte header length, a JSON header, the body.
"""

from __future__ import annotations

import json
import struct
import time
from dataclasses import dataclass, field
from typing import Final

_HEADER_LENGTH: Final = struct.Struct(">I")


class MessageFormatError(ValueError):
    """Stored bytes that are not a message (a damaged or foreign database)."""


@dataclass(frozen=True)
class Message:
    body: bytes
    properties: dict[str, str] = field(default_factory=dict)
    system: dict[str, str] = field(default_factory=dict)
    source: str = ""
    enqueued_at: float = field(default_factory=time.time)

    @classmethod
    def from_module(
        cls, module: str, output: str, body: bytes, properties: dict[str, str], system: dict[str, str]
    ) -> Message:
        """A message a module sent on `output`; its source is `/messages/modules/{m}/outputs/{o}`."""
        return cls(body, properties, {**system, "outputName": output}, f"/messages/modules/{module}/outputs/{output}")

    def for_input(self, input_name: str) -> Message:
        """The copy delivered to a module input, with edgeHub's inputName system property."""
        return Message(
            self.body, self.properties, {**self.system, "inputName": input_name}, self.source, self.enqueued_at
        )

    def to_bytes(self) -> bytes:
        header = json.dumps(
            {"p": self.properties, "s": self.system, "src": self.source, "t": self.enqueued_at},
            separators=(",", ":"),
        ).encode()
        return _HEADER_LENGTH.pack(len(header)) + header + self.body

    @classmethod
    def from_bytes(cls, data: bytes) -> Message:
        try:
            (length,) = _HEADER_LENGTH.unpack_from(data)
            header = json.loads(data[4 : 4 + length])
            return cls(data[4 + length :], header["p"], header["s"], header["src"], header["t"])
        except (struct.error, ValueError, KeyError, TypeError) as e:
            raise MessageFormatError(f"not a stored message: {e}") from e
