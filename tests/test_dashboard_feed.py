"""The dashboard's feed reads the upstream log incrementally and keeps bounded windows."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.dashboard.feed import UpstreamFeed
from central.hub.message import Message
from central.hub.store import MessageStore
from central.routing import UPSTREAM_ENDPOINT, Match

JSON = {"contentType": "application/json", "contentEncoding": "utf-8", "connectionModuleId": ""}


def msg(module: str, output: str, body: object, at: float) -> Message:
    system = {**JSON, "connectionModuleId": module}
    m = Message.from_module(module, output, json.dumps(body).encode(), {}, system)
    return Message(m.body, m.properties, m.system, m.source, at)


class Log:
    """The hub's real upstream log (its message store), written as the router writes it."""

    def __init__(self, path: Path) -> None:
        self.store = MessageStore(path)
        self.read = self.store.upstream

    def add(self, message: Message) -> None:
        self.store.append([self.store.prepare(message, [Match("to-cloud", UPSTREAM_ENDPOINT, 0, 86400)])])


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Log]:
    log = Log(tmp_path / "hub.db")
    yield log
    log.store.close()


def test_telemetry_alerts_and_analyses_are_sorted_into_windows(log: Log) -> None:
    now = time.time()
    log.add(msg("sensor", "telemetry", {"temperature": 21.5, "humidity": 40, "pressure": 1013}, now - 30))
    log.add(msg("sensor", "telemetry", [{"temperature": 22.0}, {"temperature": 22.5}], now - 20))
    log.add(msg("sensor", "alerts", {"kind": "temperature_high", "value": 31, "threshold": 30, "ts": "t"}, now - 10))
    log.add(msg("vision", "analysis", {"photo": {"blob": "d/1.jpg"}, "backend": "local"}, now - 5))
    feed = UpstreamFeed(log.read)
    feed.refresh()
    assert [v for _, v in feed.series["temperature"]] == [21.5, 22.0, 22.5]
    assert [v for _, v in feed.series["humidity"]] == [40.0]
    assert feed.alerts[0].body["kind"] == "temperature_high"
    assert feed.analyses["d/1.jpg"]["backend"] == "local"
    assert [e.output for e in feed.messages(module="sensor")] == ["alerts", "telemetry", "telemetry"]
    assert feed.sources() == [("sensor", "alerts"), ("sensor", "telemetry"), ("vision", "analysis")]


def test_refresh_reads_only_what_is_new_and_drops_readings_older_than_an_hour(log: Log) -> None:
    log.add(msg("sensor", "telemetry", {"temperature": 1}, time.time() - 3700))
    feed = UpstreamFeed(log.read)
    feed.refresh()
    assert not feed.series["temperature"]
    log.add(msg("sensor", "telemetry", {"temperature": 2}, time.time()))
    feed.refresh()
    assert [v for _, v in feed.series["temperature"]] == [2.0]
    assert len(feed.log) == 2


def test_non_json_bodies_are_kept_as_text(log: Log) -> None:
    log.add(Message.from_module("probe", "out", b"plain", {}, {"connectionModuleId": "probe"}))
    feed = UpstreamFeed(log.read)
    feed.refresh()
    assert feed.messages(output="out")[0].body == "plain"
