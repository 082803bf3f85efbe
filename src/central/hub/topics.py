"""IoT Hub MQTT topic strings ⇄ hub operations (pure).

These are the topics azure-iot-device 2.x uses (iothub/pipeline/mqtt_topic_iothub.py).
Method and twin topics carry no module name: the caller says which module a
connection belongs to. Property bags are `&`-joined, percent-encoded `key=value` pairs.
"""

from __future__ import annotations

import enum
import functools
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field


class TopicError(ValueError):
    """A topic or filter that this module may not use, or that is malformed."""


SYSTEM_KEYS = {
    "$.mid": "messageId",
    "$.cid": "correlationId",
    "$.uid": "userId",
    "$.ct": "contentType",
    "$.ce": "contentEncoding",
    "$.on": "outputName",
    "$.exp": "expiryTimeUtc",
    "$.ifid": "interfaceId",
}
"""Topic keys of the system properties a module may set, and edgeHub's names for them."""

DELIVERED_KEYS = {
    "messageId": "$.mid",
    "correlationId": "$.cid",
    "userId": "$.uid",
    "contentType": "$.ct",
    "contentEncoding": "$.ce",
    "expiryTimeUtc": "$.exp",
    "connectionDeviceId": "$.cdid",
    "connectionModuleId": "$.cmid",
}
"""System properties that travel on a delivered input message's topic (what edgeHub adds)."""


@dataclass(frozen=True)
class Telemetry:
    """A module's output message; `system["outputName"]` names the output when given."""

    system: dict[str, str] = field(default_factory=dict)
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TwinGet:
    rid: str


@dataclass(frozen=True)
class TwinReportedPatch:
    rid: str


@dataclass(frozen=True)
class MethodResponse:
    rid: str
    status: int


Operation = Telemetry | TwinGet | TwinReportedPatch | MethodResponse


class Subscription(enum.Enum):
    """What a module can subscribe to; the value is the topic filter the SDK uses."""

    INPUTS = "devices/{d}/modules/{m}/inputs/#"
    METHODS = "$iothub/methods/POST/#"
    TWIN_RESPONSES = "$iothub/twin/res/#"
    DESIRED_PATCHES = "$iothub/twin/PATCH/properties/desired/#"


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
"""The characters `quote(text, safe="")` leaves as they are."""

_CACHED_LENGTH = 64
"""Keys and values up to this length are quoted and unquoted once (bounded memory per entry)."""


def _quote(text: str) -> str:
    """Percent-encode all but the unreserved characters: most keys and values have none to encode."""
    if _UNRESERVED.fullmatch(text):
        return text
    return _quote_cached(text) if len(text) <= _CACHED_LENGTH else urllib.parse.quote(text, safe="")


def _unquote(text: str) -> str:
    if "%" not in text:
        return text
    return _unquote_cached(text) if len(text) <= _CACHED_LENGTH else urllib.parse.unquote(text)


# Property keys and values repeat from message to message: `$.cdid`, `%24.on`, module and output names.
_quote_cached = functools.lru_cache(maxsize=1024)(functools.partial(urllib.parse.quote, safe=""))
_unquote_cached = functools.lru_cache(maxsize=1024)(urllib.parse.unquote)


def parse_properties(bag: str) -> dict[str, str]:
    """`k=v&k2=v2` with percent-encoding → dict; a key without `=` gets the empty string."""
    result: dict[str, str] = {}
    for pair in bag.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        result[_unquote(key)] = _unquote(value)
    return result


def format_properties(pairs: Mapping[str, str]) -> str:
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in pairs.items())


def _split_query(topic: str, prefix: str) -> tuple[str, dict[str, str]]:
    """The path between `prefix` and `/?`, and the query after it; TopicError if the shape is wrong."""
    path, sep, query = topic[len(prefix) :].partition("?")
    if not sep or not path.endswith("/"):
        raise TopicError(f"topic {topic!r} lacks '/?$rid='")
    props = parse_properties(query)
    if not props.get("$rid"):
        raise TopicError(f"topic {topic!r} lacks a $rid")
    return path[:-1], props


def parse_publish(topic: str, device_id: str, module_id: str) -> Operation:
    """What a PUBLISH from module `device_id/module_id` to `topic` asks for."""
    events = f"devices/{device_id}/modules/{module_id}/messages/events/"
    if topic.startswith(events):
        return _telemetry(topic[len(events) :])
    if topic.startswith("$iothub/methods/res/"):
        status, props = _split_query(topic, "$iothub/methods/res/")
        try:
            return MethodResponse(props["$rid"], int(urllib.parse.unquote(status)))
        except ValueError as e:
            raise TopicError(f"method response status {status!r} is not a number") from e
    if topic.startswith("$iothub/twin/"):
        resource, props = _split_query(topic, "$iothub/twin/")
        if resource == "GET":
            return TwinGet(props["$rid"])
        if resource == "PATCH/properties/reported":
            return TwinReportedPatch(props["$rid"])
    raise TopicError(f"module {device_id}/{module_id} may not publish to {topic!r}")


def _telemetry(bag: str) -> Telemetry:
    system: dict[str, str] = {}
    properties: dict[str, str] = {}
    for key, value in parse_properties(bag).items():
        if key in SYSTEM_KEYS:
            system[SYSTEM_KEYS[key]] = value
        elif not key.startswith("$."):
            properties[key] = value
    return Telemetry(system, properties)


def parse_filter(topic_filter: str, device_id: str, module_id: str) -> Subscription:
    """Which subscription a SUBSCRIBE filter from `device_id/module_id` is; TopicError for any other."""
    for kind in Subscription:
        if topic_filter == kind.value.format(d=device_id, m=module_id):
            return kind
    raise TopicError(f"module {device_id}/{module_id} may not subscribe to {topic_filter!r}")


def input_topic(
    device_id: str, module_id: str, input_name: str, system: Mapping[str, str], properties: Mapping[str, str]
) -> str:
    """The topic an input message is delivered on, with the system properties edgeHub adds."""
    pairs = {DELIVERED_KEYS[k]: v for k, v in system.items() if k in DELIVERED_KEYS and v is not None}
    pairs.update(properties)
    base = f"devices/{device_id}/modules/{module_id}/inputs/{_quote(input_name)}/"
    return base + format_properties(pairs)


def method_request_topic(method_name: str, rid: str) -> str:
    return f"$iothub/methods/POST/{_quote(method_name)}/?$rid={_quote(rid)}"


def twin_response_topic(status: int, rid: str, version: int | None = None) -> str:
    topic = f"$iothub/twin/res/{status}/?$rid={_quote(rid)}"
    return topic if version is None else f"{topic}&$version={version}"


def desired_patch_topic(version: int) -> str:
    return f"$iothub/twin/PATCH/properties/desired/?$version={version}"
