"""What the dashboard needs from a running edge, as one small interface.

`central up` implements it on top of the hub, the agent and Azurite; tests can
implement it on top of the same parts started by fixtures. Keeping the pages on
this interface means the dashboard never reaches into hub internals.
"""

from __future__ import annotations

from typing import Any, Protocol

from central.hub.message import Message


class EdgeView(Protocol):
    def modules(self) -> list[dict[str, Any]]:
        """One row per module: name, status, pid, restart_count, uptime_s, last_exit_code."""

    def control(self, module: str, action: str) -> None:
        """`action` is start, stop or restart; raises ValueError for an unknown module or action."""

    def upstream(self, after: int, limit: int) -> list[tuple[int, Message]]: ...

    def routes(self) -> list[dict[str, Any]]:
        """One row per route of the manifest: name, route (text), priority, ttl_s, count (messages routed)."""

    def twin(self, module: str) -> dict[str, Any]:
        """The module twin with `properties.desired` and `properties.reported`; LookupError if there is none."""

    def patch_desired(self, module: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Merge `patch` into the desired properties; LookupError for no twin, ValueError for a refused patch."""

    def invoke(self, module: str, method: str, payload: Any, timeout_s: int) -> tuple[int, Any]: ...

    def photos(self, limit: int) -> list[dict[str, Any]]:
        """Newest first: name, size, last_modified (epoch s)."""

    def photo_bytes(self, blob: str) -> bytes: ...

    def photo_exists(self, blob: str) -> bool: ...
