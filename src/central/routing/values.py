"""Run-time values and static types of the route condition language.

edgeHub compiles a condition into typed .NET expressions: properties are strings, literals have their
own types, and `$body` queries are dynamic (their type is only known per message). A type mismatch is
a compile error, and at run time anything that cannot be answered is *undefined*. Here values are
plain Python objects: `str`, `float`, `bool`, `None` (null) and the `UNDEFINED` singleton. Booleans
are three-valued (true, false, undefined), as in edgeHub's `Bool` struct; only a true condition routes.
"""

from __future__ import annotations

import enum
from typing import Final


class _Undefined:
    """The value of a missing property, a failed conversion or an operation on wrong types."""

    _instance: _Undefined | None = None

    def __new__(cls) -> _Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()

Value = str | float | bool | None | _Undefined
"""What evaluating a condition node can give."""


class Type(enum.Enum):
    """Static types, checked once when a route compiles (edgeHub's type names)."""

    STRING = "string"
    NUMBER = "number"
    BOOL = "bool"
    NULL = "null"
    UNDEFINED = "undefined"
    DYNAMIC = "dynamic"  # a `$body` query: any type, found out per message

    def accepts(self, given: Type) -> bool:
        """Whether an operand of type `given` fits where this type is required."""
        return self is given or Type.DYNAMIC in (self, given)


_PYTHON_TYPES: Final = {str: Type.STRING, float: Type.NUMBER, bool: Type.BOOL, type(None): Type.NULL}


def type_of(value: Value) -> Type:
    """The type of a run-time value (ints never occur: numbers are floats, as in .NET doubles)."""
    return _PYTHON_TYPES.get(type(value), Type.UNDEFINED)


def fits(value: Value, required: Type) -> bool:
    """Whether a run-time value has the required type (DYNAMIC takes any defined value)."""
    if required is Type.DYNAMIC:
        return value is not UNDEFINED
    return type_of(value) is required


def truth(value: Value) -> bool | _Undefined:
    """A value as a three-valued boolean: non-booleans (null included) are undefined."""
    return value if isinstance(value, bool) else UNDEFINED


def logical_and(left: Value, right: Value) -> bool | _Undefined:
    """Three-valued AND: false wins over undefined, undefined over true."""
    a, b = truth(left), truth(right)
    if a is False or b is False:
        return False
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    return True


def logical_or(left: Value, right: Value) -> bool | _Undefined:
    """Three-valued OR: true wins over undefined, undefined over false."""
    a, b = truth(left), truth(right)
    if a is True or b is True:
        return True
    if a is UNDEFINED or b is UNDEFINED:
        return UNDEFINED
    return False


def logical_not(value: Value) -> bool | _Undefined:
    a = truth(value)
    return UNDEFINED if a is UNDEFINED else not a


def number(value: Value) -> float | _Undefined:
    """A value as a number, or undefined (booleans are not numbers here)."""
    return value if type(value) is float else UNDEFINED
