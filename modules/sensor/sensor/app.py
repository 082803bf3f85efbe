"""The sensor module assembled: board, sampler, LED display and joystick behind an `EdgeModule`.

Handlers only validate (through the method schemas) and call the display or
the sampler; the behaviour lives in `sampler`, `alerts`, `telemetry` and `led`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

from azure.iot.device import Message

from edgekit import EdgeModule
from sensor.boards.base import SenseBoard
from sensor.joystick import serve_fifo
from sensor.led import STATUS_COLOURS, LedDisplay, level_from_detections
from sensor.sampler import Sampler
from sensor.settings import make_settings

log = logging.getLogger(__name__)

_COLOUR = {
    "oneOf": [
        {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 255}, "minItems": 3, "maxItems": 3},
        {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
    ]
}
SHOW_MESSAGE = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": 200},
        "color": _COLOUR,
        "speed": {"type": "number", "minimum": 0.02, "maximum": 1.0},
    },
    "required": ["text"],
    "additionalProperties": False,
}
SHOW_STATUS = {
    "type": "object",
    "properties": {"level": {"enum": list(STATUS_COLOURS)}},
    "required": ["level"],
    "additionalProperties": False,
}
NO_PAYLOAD = {"type": "object", "additionalProperties": False}


def parse_colour(value: list[int] | str) -> tuple[int, int, int]:
    if isinstance(value, str):
        return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)
    return value[0], value[1], value[2]


def build_module(board: SenseBoard, environ: dict[str, str] | None = None) -> EdgeModule:
    environ = dict(os.environ if environ is None else environ)
    module = EdgeModule("sensor", settings=make_settings())
    sampler = Sampler(board, module.send_json, module.report)
    display = LedDisplay(board)

    module.status(sampler.status)

    @module.on_settings
    async def apply_settings(values: dict[str, Any], changed: dict[str, Any]) -> None:
        sampler.configure(values)
        display.brightness = float(values["led_brightness"])

    @module.task
    async def sample() -> None:
        try:
            await sampler.run()
        finally:
            await display.close()

    _wire_display(module, display)
    _wire_joystick(module, board, environ.get("SENSE_JOYSTICK_FIFO", "").strip())
    return module


def _wire_display(module: EdgeModule, display: LedDisplay) -> None:
    """The LED matrix: three direct methods and the `status` input."""

    @module.method("show_message", schema=SHOW_MESSAGE)
    async def show_message(payload: dict[str, Any]) -> dict[str, Any]:
        speed = float(payload.get("speed", 0.1))
        frames = await display.show_message(payload["text"], parse_colour(payload.get("color", [255, 255, 255])), speed)
        return {"frames": frames, "duration_s": round(frames * speed, 2)}

    @module.method("show_status", schema=SHOW_STATUS)
    async def show_status(payload: dict[str, Any]) -> dict[str, Any]:
        await display.show_status(payload["level"])
        return {"level": payload["level"]}

    @module.method("clear", schema=NO_PAYLOAD)
    async def clear(payload: dict[str, Any]) -> dict[str, Any]:
        await display.clear()
        return {}

    @module.input("status")
    async def on_status(message: Message) -> None:
        try:
            level = level_from_detections(json.loads(message.data))
        except ValueError as e:  # JSONDecodeError is a ValueError too
            log.warning("input status: %s; message ignored", e)
            return
        await display.show_status(level)


def _wire_joystick(module: EdgeModule, board: SenseBoard, fifo: str) -> None:
    """Joystick events to output `joystick`; with a FIFO, presses injected into emulated boards."""

    @module.task
    async def forward_joystick() -> None:
        board.start_joystick(asyncio.get_running_loop())
        while True:
            event = await board.next_joystick_event()
            if event.action in module.settings["joystick_actions"]:
                log.info("joystick %s %s", event.direction, event.action)
                try:
                    await module.send_json("joystick", {"direction": event.direction, "action": event.action})
                except Exception:  # the hub away: this press is lost, the next one is sent
                    log.exception("sending joystick %s %s failed", event.direction, event.action)

    press = getattr(board, "press", None)
    if fifo and press is None:
        log.warning("SENSE_JOYSTICK_FIFO ignored: the %s board has a real joystick", board.name)
    elif fifo:

        @module.task
        async def joystick_fifo() -> None:
            await serve_fifo(Path(fifo), press)
