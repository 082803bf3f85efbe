"""Syntax-tree nodes of route conditions: one class per node, each with `evaluate` and `sexpr`.

Nodes are built by central.routing.compiler, which has already checked their static types, so
`evaluate` only has to deal with what is known per message (`$body` values, missing properties).
`sexpr` renders the tree for the parser's table tests.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from central.routing.builtins import Signature
from central.routing.context import EvaluationContext, query_body
from central.routing.values import (
    UNDEFINED,
    Type,
    Value,
    logical_and,
    logical_not,
    logical_or,
    number,
    type_of,
)


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Node:
    type: Type

    def evaluate(self, context: EvaluationContext) -> Value:
        raise NotImplementedError

    def sexpr(self) -> str:
        raise NotImplementedError


@dataclass
class Literal(Node):
    value: Value
    type: Type

    def evaluate(self, context: EvaluationContext) -> Value:
        return self.value

    def sexpr(self) -> str:
        if isinstance(self.value, str):
            return _quote(self.value)
        if isinstance(self.value, bool):
            return str(self.value).lower()
        if self.value is None:
            return "null"
        return repr(self.value)


@dataclass
class AppProperty(Node):
    """A bare name: an application property (a string)."""

    name: str
    type: Type = Type.STRING

    def evaluate(self, context: EvaluationContext) -> Value:
        return context.properties.get(self.name, UNDEFINED)

    def sexpr(self) -> str:
        return f"(app {self.name})"


@dataclass
class SystemProperty(Node):
    """`$name`: the application property named `$name` if the message has one, else system property
    `name`. `{$name}` (escaped) skips the application property."""

    name: str
    escaped: bool = False
    type: Type = Type.STRING

    def evaluate(self, context: EvaluationContext) -> Value:
        if not self.escaped:
            value = context.properties.get("$" + self.name)
            if value is not None:
                return value
        return context.system.get(self.name, UNDEFINED)

    def sexpr(self) -> str:
        return f"({'sys' if self.escaped else 'prop'} {self.name})"


@dataclass
class BodyQuery(Node):
    """`$body.a.b[0]`: a scalar from a JSON body. Unescaped, an application property named exactly
    so (`$body.a.b[0]`) wins, as in edgeHub."""

    text: str  # as written, `$body.` included: the name of the application property that wins
    steps: tuple[str | int, ...]
    escaped: bool = False
    type: Type = Type.DYNAMIC

    def evaluate(self, context: EvaluationContext) -> Value:
        if not self.escaped:
            value = context.properties.get(self.text)
            if value is not None:
                return value
        return query_body(context, self.steps)

    def sexpr(self) -> str:
        return f"({'sysbody' if self.escaped else 'body'} {self.text})"


@dataclass
class Negate(Node):
    operand: Node
    type: Type = Type.NUMBER

    def evaluate(self, context: EvaluationContext) -> Value:
        value = number(self.operand.evaluate(context))
        return value if value is UNDEFINED else -value

    def sexpr(self) -> str:
        return f"(- {self.operand.sexpr()})"


@dataclass
class Not(Node):
    operand: Node
    type: Type = Type.BOOL

    def evaluate(self, context: EvaluationContext) -> Value:
        return logical_not(self.operand.evaluate(context))

    def sexpr(self) -> str:
        return f"(not {self.operand.sexpr()})"


@dataclass
class Binary(Node):
    """A binary operator; subclasses say what it does with two evaluated operands."""

    op: str
    left: Node
    right: Node
    type: Type  # the result type, worked out by the compiler

    def evaluate(self, context: EvaluationContext) -> Value:
        return self.apply(self.left.evaluate(context), self.right.evaluate(context))

    def apply(self, left: Value, right: Value) -> Value:
        raise NotImplementedError

    def sexpr(self) -> str:
        return f"({self.op.lower()} {self.left.sexpr()} {self.right.sexpr()})"


def _divide(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1, b)
    return a / b


def _modulo(a: float, b: float) -> float:
    """.NET `%` on doubles: the remainder takes the sign of the dividend (C fmod)."""
    return math.nan if b == 0 or math.isinf(a) else math.fmod(a, b)


ARITHMETIC: Final[dict[str, Callable[[float, float], float]]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": _divide,
    "%": _modulo,
}


class Arithmetic(Binary):
    def apply(self, left: Value, right: Value) -> Value:
        a, b = number(left), number(right)
        if a is UNDEFINED or b is UNDEFINED:
            return UNDEFINED
        return ARITHMETIC[self.op](a, b)


class Concat(Binary):
    def apply(self, left: Value, right: Value) -> Value:
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        return UNDEFINED


ORDERING: Final[dict[str, Callable[[object, object], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "=": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
}
EQUALITY_OPS: Final = frozenset({"=", "!=", "<>"})


class Comparison(Binary):
    """Comparisons of two values of the same type; anything else is undefined. Strings compare
    ordinally, null equals null (and has no order)."""

    def apply(self, left: Value, right: Value) -> Value:
        kind = type_of(left)
        if kind is Type.UNDEFINED or kind is not type_of(right):
            return UNDEFINED
        if kind is Type.NULL:
            return UNDEFINED if self.op not in EQUALITY_OPS else (self.op == "=")
        return ORDERING[self.op](left, right)


class And(Binary):
    def apply(self, left: Value, right: Value) -> Value:
        return logical_and(left, right)


class Or(Binary):
    def apply(self, left: Value, right: Value) -> Value:
        return logical_or(left, right)


class Coalesce(Binary):
    """`a ?? b`: a when it is defined, else b (b is evaluated only when needed)."""

    def evaluate(self, context: EvaluationContext) -> Value:
        value = self.left.evaluate(context)
        return self.right.evaluate(context) if value is UNDEFINED else value


@dataclass
class Call(Node):
    """A built-in function call; `signatures` are those that passed the compile-time check."""

    name: str
    args: Sequence[Node]
    signatures: tuple[Signature, ...]
    type: Type

    def evaluate(self, context: EvaluationContext) -> Value:
        values = [arg.evaluate(context) for arg in self.args]
        for signature in self.signatures:
            if signature.fits(values):
                return signature.impl(*values)
        return UNDEFINED

    def sexpr(self) -> str:
        return "(" + " ".join([self.name.lower(), *(arg.sexpr() for arg in self.args)]) + ")"
