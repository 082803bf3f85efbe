"""Compiles a route's syntax tree into condition nodes, checking types the way edgeHub does.

edgeHub refuses, when a manifest is deployed, a condition whose operand types do not fit
(`temperature > 30` compares a string property with a number) or that calls an unknown function.
The checks and messages here follow its ConditionVisitor and ErrorListener, so a route that compiles
locally compiles on a device.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from lark import Token, Transformer

from central.routing import nodes
from central.routing.builtins import signatures_for
from central.routing.context import parse_body_path
from central.routing.errors import RouteSyntaxError
from central.routing.sinks import Sink, Upstream, module_input
from central.routing.values import UNDEFINED, Type

_BODY_PREFIX: Final = "$body."
_LOGICAL_OPERANDS: Final = frozenset({Type.BOOL, Type.NULL, Type.UNDEFINED, Type.DYNAMIC})
_UNICODE_ESCAPE: Final = re.compile(r"\\[Uu]([0-9A-Fa-f]{4})")
_QUOTE_ESCAPE: Final = re.compile(r"""\\(["'\\])""")


def unescape(quoted: str) -> str:
    """A STRING token's value: quotes dropped, \\uXXXX and \\' \\" \\\\ resolved."""
    inner = _UNICODE_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), quoted[1:-1])
    return _QUOTE_ESCAPE.sub(lambda m: m.group(1), inner)


class RouteCompiler(Transformer):
    """Builds (source, condition node, sink) from a parse tree of one route."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def _error(self, token: Token, message: str) -> RouteSyntaxError:
        return RouteSyntaxError(message, int(token.column or 1), self.text)

    def _operand_error(self, op: Token, expected: Type, given: Sequence[nodes.Node]) -> RouteSyntaxError:
        arity = {1: "unary ", 2: "binary "}[len(given)]
        have = " and ".join(f"'{n.type.value}'" for n in given)
        want = " and ".join(f"'{expected.value}'" for _ in given)
        return self._error(op, f"Invalid operands to {arity}operator '{op}': have {have}, expected {want}")

    # the route
    def start(self, children: list[object]) -> object:
        return children[0]

    def route(self, children: list[object]) -> tuple[str, nodes.Node | None, Sink]:
        _select, _star, _from, source, _where, condition, _into, sink = children
        assert isinstance(source, str)
        return source, condition if isinstance(condition, nodes.Node) else None, sink  # type: ignore[return-value]

    def path(self, children: list[Token]) -> str:
        return "".join(str(t) for t in children)

    def system_sink(self, children: list[Token]) -> Sink:
        (token,) = children
        if str(token).lower() != "$upstream":
            raise self._error(token, f"Unsupported endpoint '{token}': edgeHub routes to $upstream")
        return Upstream()

    def function_sink(self, children: list[Token]) -> Sink:
        function, _open, address, _close = children
        if str(function).lower() != "brokeredendpoint":
            raise self._error(function, f"Unsupported endpoint function '{function}': use BrokeredEndpoint")
        sink = module_input(unescape(address))
        if sink is None:
            raise self._error(address, f'BrokeredEndpoint needs "/modules/<module>/inputs/<input>", got {address}')
        return sink

    # leaves
    def literal(self, children: list[Token]) -> nodes.Literal:
        (token,) = children
        kind = token.type
        if kind == "STRING":
            return nodes.Literal(unescape(token), Type.STRING)
        if kind in ("INTEGER", "REAL"):
            return nodes.Literal(float(token), Type.NUMBER)
        if kind == "HEX":
            return nodes.Literal(float(int(token[2:], 16)), Type.NUMBER)
        constants = {"TRUE": (True, Type.BOOL), "FALSE": (False, Type.BOOL), "NULL": (None, Type.NULL)}
        value, type_ = constants.get(kind, (UNDEFINED, Type.UNDEFINED))
        return nodes.Literal(value, type_)

    def app_property(self, children: list[Token]) -> nodes.Node:
        return nodes.AppProperty(str(children[0]))

    def system_property(self, children: list[Token]) -> nodes.Node:
        return self._dollar(children[0], escaped=False)

    def escaped_property(self, children: list[Token]) -> nodes.Node:
        return self._dollar(children[1], escaped=True)

    def _dollar(self, token: Token, *, escaped: bool) -> nodes.Node:
        text = str(token)
        if text.lower().startswith(_BODY_PREFIX):
            path = text[len(_BODY_PREFIX) :]
            steps = parse_body_path(path)
            if steps is None:
                raise self._error(token, f"Error in $body query: '{path}' is not a supported JSON path")
            return nodes.BodyQuery(text, steps, escaped)
        if "[" in text or "]" in text:  # not a property name, and not a body query either
            return nodes.Literal(UNDEFINED, Type.UNDEFINED)
        return nodes.SystemProperty(text[1:], escaped)

    def nested(self, children: list[object]) -> object:
        return children[1]

    # operators
    def negate(self, children: list[object]) -> nodes.Node:
        op, operand = children
        assert isinstance(op, Token) and isinstance(operand, nodes.Node)
        if not Type.NUMBER.accepts(operand.type):
            raise self._operand_error(op, Type.NUMBER, [operand])
        return nodes.Negate(operand)

    def not_(self, children: list[object]) -> nodes.Node:
        op, operand = children
        assert isinstance(op, Token) and isinstance(operand, nodes.Node)
        if operand.type not in (Type.BOOL, Type.NULL, Type.DYNAMIC):
            raise self._operand_error(op, Type.BOOL, [operand])
        return nodes.Not(operand)

    def binary(self, children: list[object]) -> nodes.Node:
        left, op, right = children
        assert isinstance(op, Token) and isinstance(left, nodes.Node) and isinstance(right, nodes.Node)
        build = _BINARY[op.type]
        return build(self, op, left, right)

    def _arithmetic(self, op: Token, left: nodes.Node, right: nodes.Node) -> nodes.Node:
        if not (Type.NUMBER.accepts(left.type) and Type.NUMBER.accepts(right.type)):
            raise self._operand_error(op, Type.NUMBER, [left, right])
        return nodes.Arithmetic(str(op), left, right, Type.NUMBER)

    def _concat(self, op: Token, left: nodes.Node, right: nodes.Node) -> nodes.Node:
        if not (Type.STRING.accepts(left.type) and Type.STRING.accepts(right.type)):
            raise self._operand_error(op, Type.STRING, [left, right])
        return nodes.Concat(str(op), left, right, Type.STRING)

    def _comparison(self, op: Token, left: nodes.Node, right: nodes.Node) -> nodes.Node:
        if not right.type.accepts(left.type):  # both sides must have the left side's type
            raise self._operand_error(op, left.type, [left, right])
        return nodes.Comparison(str(op), left, right, Type.BOOL)

    def _logical(self, op: Token, left: nodes.Node, right: nodes.Node) -> nodes.Node:
        if left.type not in _LOGICAL_OPERANDS or right.type not in _LOGICAL_OPERANDS:
            raise self._operand_error(op, Type.BOOL, [left, right])
        node_class = nodes.And if op.type == "AND" else nodes.Or
        return node_class(str(op), left, right, Type.BOOL)

    def _coalesce(self, op: Token, left: nodes.Node, right: nodes.Node) -> nodes.Node:
        if not right.type.accepts(left.type):
            raise self._operand_error(op, left.type, [left, right])
        if left.type is Type.UNDEFINED:
            return right
        result = Type.DYNAMIC if Type.DYNAMIC in (left.type, right.type) else left.type
        return nodes.Coalesce(str(op), left, right, result)

    def call(self, children: list[object]) -> nodes.Node:
        name = children[0]
        assert isinstance(name, Token)
        args = [c for c in children if isinstance(c, nodes.Node)]
        signatures = signatures_for(str(name), [a.type for a in args])
        if signatures is None:
            raise self._error(name, f"Invalid built-in function '{name}'")
        if not signatures:
            given = ", ".join(a.type.value for a in args)
            raise self._error(name, f"Invalid arguments to built-in function '{name}': {name}({given})")
        results = {s.result for s in signatures}
        result = results.pop() if len(results) == 1 else Type.DYNAMIC
        return nodes.Call(str(name), args, signatures, result)


_BINARY: Final = {
    **dict.fromkeys(("PLUS", "MINUS", "MUL", "DIV", "MOD"), RouteCompiler._arithmetic),
    "CONCAT": RouteCompiler._concat,
    **dict.fromkeys(("LT", "LE", "GT", "GE", "EQ", "NE1", "NE2"), RouteCompiler._comparison),
    "AND": RouteCompiler._logical,
    "OR": RouteCompiler._logical,
    "COALESCE": RouteCompiler._coalesce,
}
