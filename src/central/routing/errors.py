"""The one error of the route language: a route that edgeHub would refuse to compile."""

from __future__ import annotations


class RouteSyntaxError(ValueError):
    """A route that does not compile: where (1-based column) and why.

    `str()` shows the route with a caret under the column, the same text `central validate` prints.
    """

    def __init__(self, message: str, column: int, text: str) -> None:
        super().__init__(message)
        self.message = message
        self.column = max(1, column)
        self.text = text

    def __str__(self) -> str:
        line = self.text.replace("\n", " ").replace("\r", " ").replace("\t", " ")
        return f"{self.message} at column {self.column}\n  {line}\n  {' ' * (self.column - 1)}^"

    def naming(self, route_name: str) -> RouteSyntaxError:
        """The same error, saying which manifest route it is in."""
        return RouteSyntaxError(f"route '{route_name}': {self.message}", self.column, self.text)
