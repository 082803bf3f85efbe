"""Logging set-up for a module process.

edgeAgent passes `RuntimeLogLevel` to every module; the SDK's own loggers are
very chatty at INFO, so they stay at WARNING unless debugging is asked for.
"""

from __future__ import annotations

import logging
import os

_LEVELS = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
}


def setup_logging(module: str) -> None:
    raw = os.environ.get("RuntimeLogLevel", "info")  # noqa: SIM112 - edgeAgent spells it this way
    level = _LEVELS.get(raw.strip().lower(), logging.INFO)
    logging.basicConfig(level=level, format=f"%(asctime)s %(levelname)s {module} %(name)s: %(message)s", force=True)
    sdk_level = logging.DEBUG if level == logging.DEBUG else logging.WARNING
    for name in ("azure.iot.device", "azure.core", "azure.storage", "paho", "urllib3"):
        logging.getLogger(name).setLevel(sdk_level)
