"""The sensor module's twin settings: schema and defaults.

Every top-level key is validated on its own (edgekit.Settings), so a bad
threshold is rejected with its reason while a good interval in the same patch
still applies.

Why 15 s: IoT Hub F1 allows 8,000 messages a day. Telemetry every 15 s is
86,400 / 15 = 5,760 a day. Alerts are capped by `alert_min_interval_s` per
kind: 7 kinds (3 sensors x above/below, and shake) x 86,400 / 300 = 2,016 at
the very worst, so 5,760 + 2,016 = 7,776 < 8,000 even if every alert fired all
day. Each telemetry message is well under the 0.5 KB metering chunk.
"""

from __future__ import annotations

from typing import Any

from edgekit import Settings
from sensor.boards.base import ACTIONS

METRICS = ("temperature", "humidity", "pressure")

_THRESHOLD = {
    "type": "object",
    "properties": {
        "above": {"type": ["number", "null"]},
        "below": {"type": ["number", "null"]},
        "hysteresis": {"type": "number", "minimum": 0, "maximum": 100},
    },
    "additionalProperties": False,
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "telemetry_interval_s": {"type": "number", "minimum": 1, "maximum": 3600},
        "sample_interval_s": {"type": "number", "minimum": 0.1, "maximum": 60},
        "batch_size": {"type": "integer", "minimum": 1, "maximum": 100},
        "temperature_offset_c": {"type": "number", "minimum": -50, "maximum": 50},
        "temperature_cpu_factor": {"type": "number", "minimum": 0, "maximum": 100},
        "thresholds": {
            "type": "object",
            "properties": {metric: _THRESHOLD for metric in METRICS},
            "additionalProperties": False,
        },
        "shake_threshold_g": {"type": ["number", "null"], "exclusiveMinimum": 1, "maximum": 16},
        "alert_min_interval_s": {"type": "number", "minimum": 0, "maximum": 86400},
        "led_brightness": {"type": "number", "minimum": 0, "maximum": 1},
        "joystick_actions": {"type": "array", "items": {"enum": list(ACTIONS)}, "uniqueItems": True},
    },
    "additionalProperties": False,
}

DEFAULTS: dict[str, Any] = {
    "telemetry_interval_s": 15,
    "sample_interval_s": 1,
    "batch_size": 1,
    "temperature_offset_c": 0.0,
    "temperature_cpu_factor": 1.5,
    "thresholds": {
        "temperature": {"above": 35.0, "below": 5.0, "hysteresis": 0.5},
        "humidity": {"above": 80.0, "below": 15.0, "hysteresis": 2.0},
        "pressure": {"above": None, "below": None, "hysteresis": 1.0},
    },
    "shake_threshold_g": 2.0,
    "alert_min_interval_s": 300,
    "led_brightness": 1.0,
    "joystick_actions": ["pressed"],
}


def make_settings() -> Settings:
    return Settings(SCHEMA, DEFAULTS)
