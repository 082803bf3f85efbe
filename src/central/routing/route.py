"""One route: `[SELECT *] FROM <source> [WHERE <condition>] INTO <sink>`, parsed and compiled once.

`parse_route` is what both the local hub and `central validate` use, so a manifest that validates
routes the same way when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

from lark import Lark, Token, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.exceptions import VisitError

from central.routing.compiler import RouteCompiler
from central.routing.context import EvaluationContext, RoutableMessage
from central.routing.errors import RouteSyntaxError
from central.routing.lexer import RouteLexer, tokenize
from central.routing.nodes import Node
from central.routing.sinks import Sink

_SHOWN: Final = {
    "SELECT": "SELECT", "FROM": "FROM", "WHERE": "WHERE", "INTO": "INTO", "ID": "a name",
    "SYS_PROP": "a $property", "STRING": "a string", "INTEGER": "a number", "REAL": "a number",
    "HEX": "a number", "DIV": "'/'", "MUL": "'*'", "LPAREN": "'('", "RPAREN": "')'", "COMMA": "','",
    "RBRACE": "'}'", "$END": "the end of the route",
}  # fmt: skip


@cache
def _parser() -> Lark:
    grammar = resources.files("central.routing").joinpath("route.lark").read_text()
    return Lark(grammar, parser="lalr", lexer=RouteLexer, maybe_placeholders=True)


@dataclass(frozen=True)
class Condition:
    """A compiled WHERE clause: true only when the expression evaluates to true (not undefined)."""

    root: Node
    text: str

    def evaluate(self, message: RoutableMessage | EvaluationContext) -> bool:
        context = message if isinstance(message, EvaluationContext) else EvaluationContext(message)
        return self.root.evaluate(context) is True

    def sexpr(self) -> str:
        return self.root.sexpr()


@dataclass(frozen=True)
class Route:
    source: str
    condition: Condition | None
    sink: Sink
    text: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "_prefix", _normalise(self.source.rstrip("*")))

    def matches_source(self, source: str) -> bool:
        """edgeHub's source match: case-insensitive prefix, `*` trimmed, trailing slash normalised."""
        return _normalise(source).startswith(self._prefix)  # type: ignore[attr-defined]

    def matches(self, message: RoutableMessage | EvaluationContext) -> bool:
        context = message if isinstance(message, EvaluationContext) else EvaluationContext(message)
        if not self.matches_source(context.message.source):
            return False
        return self.condition is None or self.condition.evaluate(context)


def _normalise(path: str) -> str:
    path = path.lower()
    return path if path.endswith("/") else path + "/"


def parse_route(text: str) -> Route:
    """Parse and compile one route; raises RouteSyntaxError with the column and the reason."""
    try:
        tree = _parser().parse(text)
        source, root, sink = RouteCompiler(text).transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, RouteSyntaxError):
            raise e.orig_exc from None
        raise
    except UnexpectedToken as e:
        raise _unexpected(text, e.token, e.expected) from None
    except UnexpectedCharacters as e:  # the lexer raises its own errors; this is a safety net
        raise RouteSyntaxError("Syntax error", e.column, text) from None
    except UnexpectedInput as e:
        raise RouteSyntaxError("Syntax error: incomplete route", len(text) + 1, text) from e
    condition = None if root is None else Condition(root, _condition_text(text, root))
    return Route(source, condition, sink, text)


def _unexpected(text: str, token: Token, expected: set[str]) -> RouteSyntaxError:
    at_end = token.type == "$END"
    column = len(text.rstrip()) + 1 if at_end else int(token.column or 1)
    found = "end of route" if at_end else f"'{token}'"
    wanted = sorted({_SHOWN[name] for name in expected if name in _SHOWN})
    hint = f", expected {' or '.join(wanted)}" if 0 < len(wanted) <= 4 else ""
    return RouteSyntaxError(f"Syntax error: unexpected {found}{hint}", column, text)


def _condition_text(text: str, root: Node) -> str:
    """The text between WHERE and INTO (for logs and the dashboard)."""
    tokens = list(tokenize(text))
    where = next(t for t in tokens if t.type == "WHERE")
    into = [t for t in tokens if t.type == "INTO"][-1]
    return text[where.end_pos : into.start_pos].strip()
