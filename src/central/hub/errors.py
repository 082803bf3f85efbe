"""The one error shape of IoT Hub operations: a refusal with the HTTP status IoT Hub would answer.

Direct methods, twins and the service API refuse calls the same way; the service
API answers any of them with its status, and the hub puts a twin error's status
in the response topic. Each operation keeps its own subclass, so code that
handles only one kind still says which.
"""

from __future__ import annotations


class StatusError(Exception):
    """An operation refused; `status` is the HTTP status code IoT Hub would answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
