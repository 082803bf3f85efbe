"""IoT Hub topic strings ⇄ operations, including awkward characters in names and properties."""

from __future__ import annotations

import urllib.parse

import pytest

from central.hub import topics
from central.hub.topics import MethodResponse, Subscription, Telemetry, TopicError, TwinGet, TwinReportedPatch

D, M = "edge-local", "camera"
EVENTS = f"devices/{D}/modules/{M}/messages/events/"


def sdk_event_topic(output: str | None, system: dict[str, str], custom: dict[str, str]) -> str:
    """The topic as azure-iot-device encodes it (encode_message_properties_in_topic)."""
    from azure.iot.device import Message as SdkMessage
    from azure.iot.device.iothub.pipeline import mqtt_topic_iothub

    message = SdkMessage(b"", **system)
    message.correlation_id = "c&d"
    message.output_name = output
    message.custom_properties = custom
    return mqtt_topic_iothub.encode_message_properties_in_topic(message, EVENTS)


PUBLISH_CASES = [
    (EVENTS, Telemetry({}, {})),
    (EVENTS + "$.on=out&$.mid=1&a=b", Telemetry({"outputName": "out", "messageId": "1"}, {"a": "b"})),
    (
        EVENTS + "%24.ct=application%2Fjson&%24.ce=utf-8&k%26ey=v%3Dal%20ue%2F",
        Telemetry({"contentType": "application/json", "contentEncoding": "utf-8"}, {"k&ey": "v=al ue/"}),
    ),
    (EVENTS + "$.unknown=1&flag", Telemetry({}, {"flag": ""})),
    ("$iothub/twin/GET/?$rid=7", TwinGet("7")),
    ("$iothub/twin/PATCH/properties/reported/?$rid=a%20b", TwinReportedPatch("a b")),
    ("$iothub/methods/res/200/?$rid=3f", MethodResponse("3f", 200)),
]


@pytest.mark.parametrize(("topic", "operation"), PUBLISH_CASES)
def test_parse_publish(topic: str, operation: topics.Operation) -> None:
    assert topics.parse_publish(topic, D, M) == operation


def test_parses_what_the_sdk_encodes() -> None:
    system = {"message_id": "id/1", "content_type": "application/json"}
    custom = {"temp é": "20 °C", "a=b": "x&y"}
    parsed = topics.parse_publish(sdk_event_topic("out/1", system, custom), D, M)
    assert parsed == Telemetry(
        {"outputName": "out/1", "messageId": "id/1", "correlationId": "c&d", "contentType": "application/json"},
        custom,
    )


@pytest.mark.parametrize(
    "topic",
    [
        "devices/edge-local/modules/vision/messages/events/",  # another module
        "devices/other/modules/camera/messages/events/",  # another device
        "devices/edge-local/messages/events/",  # the device, not the module
        "$iothub/twin/GET/",  # no rid
        "$iothub/twin/GET/?$rid=",  # empty rid
        "$iothub/twin/DELETE/?$rid=1",
        "$iothub/methods/res/abc/?$rid=1",
        "$iothub/methods/POST/m/?$rid=1",  # the hub's direction, not the module's
        "anything/else",
    ],
)
def test_refused_publish_topics(topic: str) -> None:
    with pytest.raises(TopicError):
        topics.parse_publish(topic, D, M)


@pytest.mark.parametrize(
    ("topic_filter", "kind"),
    [
        (f"devices/{D}/modules/{M}/inputs/#", Subscription.INPUTS),
        ("$iothub/methods/POST/#", Subscription.METHODS),
        ("$iothub/twin/res/#", Subscription.TWIN_RESPONSES),
        ("$iothub/twin/PATCH/properties/desired/#", Subscription.DESIRED_PATCHES),
    ],
)
def test_parse_filter(topic_filter: str, kind: Subscription) -> None:
    assert topics.parse_filter(topic_filter, D, M) is kind


@pytest.mark.parametrize("topic_filter", ["#", f"devices/{D}/modules/vision/inputs/#", "$iothub/#", "devices/+/x"])
def test_refused_filters(topic_filter: str) -> None:
    with pytest.raises(TopicError):
        topics.parse_filter(topic_filter, D, M)


def test_input_topic_is_what_the_sdk_reads() -> None:
    from azure.iot.device import Message as SdkMessage
    from azure.iot.device.iothub.pipeline import mqtt_topic_iothub

    system = {"messageId": "m/1", "contentType": "application/json", "connectionModuleId": "sensor", "x": "y"}
    topic = topics.input_topic(D, M, "in put/1", system, {"k=1": "a&b/c"})
    assert mqtt_topic_iothub.get_input_name_from_topic(topic) == "in put/1"
    received = SdkMessage(b"")
    mqtt_topic_iothub.extract_message_properties_from_topic(topic, received)
    assert received.message_id == "m/1"
    assert received.content_type == "application/json"
    assert received.custom_properties == {"$.cmid": "sensor", "k=1": "a&b/c"}


def test_response_topics_are_what_the_sdk_reads() -> None:
    from azure.iot.device.iothub.pipeline import mqtt_topic_iothub as sdk

    method = topics.method_request_topic("take photo", "a1")
    assert sdk.get_method_name_from_topic(method) == "take photo"
    assert sdk.get_method_request_id_from_topic(method) == "a1"
    twin = topics.twin_response_topic(204, "5", version=3)
    assert sdk.get_twin_request_id_from_topic(twin) == "5"
    assert sdk.get_twin_status_code_from_topic(twin) == "204"
    assert urllib.parse.parse_qs(twin.split("?")[1])["$version"] == ["3"]
    assert sdk.is_twin_desired_property_patch_topic(topics.desired_patch_topic(4))
