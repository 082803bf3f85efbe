"""Direct methods: a registry that validates payloads before a handler runs.

Every request gets a response: 200 with the handler's result, 400 naming the
field for a bad payload, 404 for an unknown method, the handler's own status
for a `MethodError`, and 500 (logged) for a bug. A bad call never stops the module.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from edgekit.validation import InvalidInput, Schema

log = logging.getLogger(__name__)

MethodResult = Any | tuple[int, Any]
MethodHandler = Callable[[dict[str, Any]], Awaitable[MethodResult] | MethodResult]


class MethodError(Exception):
    """Raised by a handler to answer with a specific status (e.g. 409 busy, 503 storage down)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class MethodRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, tuple[MethodHandler, Schema | None]] = {}

    def method(self, name: str, schema: dict[str, Any] | None = None) -> Callable[[MethodHandler], MethodHandler]:
        """Register `handler` for method `name`; `schema` validates the payload (None means `{}`)."""
        compiled = Schema(schema) if schema is not None else None

        def decorate(handler: MethodHandler) -> MethodHandler:
            if name in self._handlers:
                raise ValueError(f"method {name!r} registered twice")
            self._handlers[name] = (handler, compiled)
            return handler

        return decorate

    @property
    def names(self) -> list[str]:
        return sorted(self._handlers)

    async def dispatch(self, name: str, payload: Any) -> tuple[int, Any]:
        """Run the handler for `name`; always returns (status, JSON payload)."""
        if name not in self._handlers:
            return 404, {"error": f"unknown method {name!r}", "methods": self.names}
        handler, schema = self._handlers[name]
        args = {} if payload is None else payload
        try:
            if schema is not None:
                schema.check(args)
            result = handler(args)
            if inspect.isawaitable(result):
                result = await result
        except InvalidInput as e:
            return 400, {"error": e.message, "field": e.field}
        except MethodError as e:
            return e.status, e.payload()
        except Exception as e:
            log.exception("method %s failed", name)
            return 500, {"error": f"{type(e).__name__}: {e}"}
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], int):
            return result
        return 200, result
