"""Shared plumbing for Central Edge modules.

Every module (camera, sensor, vision) is built the same way: an `EdgeModule`
that wires input, method and twin handlers the way the azure-iot-sdk-python edge
samples do, `Settings` bound to the module twin, validated method payloads,
graceful shutdown on SIGTERM, and logging configured from `RuntimeLogLevel`.
Keeping this once means the three modules only contain what makes them different.
"""

from edgekit.backends import BackendRegistry, MissingBackendError
from edgekit.methods import MethodError, MethodRegistry
from edgekit.module import EdgeModule
from edgekit.retry import Backoff
from edgekit.settings import Settings, SettingsChange

__all__ = [
    "BackendRegistry",
    "Backoff",
    "EdgeModule",
    "MethodError",
    "MethodRegistry",
    "MissingBackendError",
    "Settings",
    "SettingsChange",
]
