"""The built-in functions of route conditions, each with the signatures edgeHub accepts.

A call is checked once at compile time against the signatures (names are case-insensitive); at run
time the first signature whose types fit the actual arguments is used, and when none fits (a `$body`
value of another type, an undefined argument) the result is undefined. Functions that .NET would
answer with an exception (substring out of range, the sign of NaN) answer undefined.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from central.routing.values import UNDEFINED, Type, Value, fits

S, N, B = Type.STRING, Type.NUMBER, Type.BOOL
ANY: Final = "any"  # one argument of any type, undefined included
Impl = Callable[..., Value]


@dataclass(frozen=True)
class Signature:
    params: tuple[Type, ...] | str
    result: Type
    impl: Impl
    variadic: bool = False  # the last parameter repeats

    def accepts(self, given: Sequence[Type]) -> bool:
        if self.params == ANY:
            return len(given) == 1
        params = self.params
        if self.variadic:
            if len(given) < len(params):
                return False
            params = params + (params[-1],) * (len(given) - len(params))
        return len(params) == len(given) and all(p.accepts(g) for p, g in zip(params, given, strict=True))

    def fits(self, args: Sequence[Value]) -> bool:
        if self.params == ANY:
            return True
        params = self.params
        if self.variadic:
            params = params + (params[-1],) * (len(args) - len(params))
        return all(fits(a, p) for p, a in zip(params, args, strict=True))


def _safe(fn: Callable[..., float]) -> Impl:
    """Math the .NET way: overflow gives infinity, a domain error NaN."""

    def call(*args: float) -> float:
        try:
            return float(fn(*args))
        except OverflowError:
            return math.inf
        except ValueError:
            return math.nan

    return call


def _round(fn: Callable[[float], int]) -> Impl:
    return lambda x: x if not math.isfinite(x) else float(fn(x))


def _sign(x: float) -> Value:
    if math.isnan(x):
        return UNDEFINED
    return float((x > 0) - (x < 0))


def _as_number(text: str) -> Value:
    try:
        return float(text.strip())
    except ValueError:
        return UNDEFINED


def _utf16_length(text: str) -> float:
    """.NET string length counts UTF-16 code units."""
    return float(len(text.encode("utf-16-le")) // 2)


def _substring(text: str, start: float, length: float | None = None) -> Value:
    if not math.isfinite(start) or (length is not None and not math.isfinite(length)):
        return UNDEFINED
    begin = int(start)
    end = len(text) if length is None else begin + int(length)
    if begin < 0 or end < begin or end > len(text):
        return UNDEFINED
    return text[begin:end]


def _one(params: tuple[Type, ...] | str, result: Type, impl: Impl) -> tuple[Signature, ...]:
    return (Signature(params, result, impl),)


BUILTINS: Final[dict[str, tuple[Signature, ...]]] = {
    # math
    "abs": _one((N,), N, abs),
    "exp": _one((N,), N, _safe(math.exp)),
    "power": _one((N, N), N, _safe(math.pow)),
    "square": _one((N,), N, lambda x: x * x),
    "ceiling": _one((N,), N, _round(math.ceil)),
    "floor": _one((N,), N, _round(math.floor)),
    "sign": _one((N,), N, _sign),
    "sqrt": _one((N,), N, _safe(math.sqrt)),
    # type checking
    "as_number": (Signature((S,), N, _as_number), Signature((N,), N, lambda x: x)),
    "is_bool": _one(ANY, B, lambda v: isinstance(v, bool)),
    "is_defined": _one(ANY, B, lambda v: v is not UNDEFINED),
    "is_null": _one(ANY, B, lambda v: v is None),
    "is_number": _one(ANY, B, lambda v: type(v) is float),
    "is_string": _one(ANY, B, lambda v: isinstance(v, str)),
    # strings
    "concat": (Signature((S, S), S, lambda *parts: "".join(parts), variadic=True),),
    "length": _one((S,), N, _utf16_length),
    "lower": _one((S,), S, str.lower),
    "upper": _one((S,), S, str.upper),
    "substring": (Signature((S, N), S, _substring), Signature((S, N, N), S, _substring)),
    "index_of": _one((S, S), N, lambda text, part: float(text.find(part))),
    "starts_with": _one((S, S), B, str.startswith),
    "ends_with": _one((S, S), B, str.endswith),
    "contains": _one((S, S), B, lambda text, part: part in text),
}
"""Every built-in of edgeHub's ConditionVisitor except twin_change_includes (twin notifications only)."""


def signatures_for(name: str, given: Sequence[Type]) -> tuple[Signature, ...] | None:
    """The signatures of built-in `name` that accept arguments of the `given` types.

    None when there is no such built-in; an empty tuple when it exists but the arguments do not fit.
    """
    signatures = BUILTINS.get(name.lower())
    if signatures is None:
        return None
    return tuple(s for s in signatures if s.accepts(given))
