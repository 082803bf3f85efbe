"""Tokens of edgeHub's route grammar (GrammarLexer.g4), matched the way ANTLR matches them.

ANTLR takes the longest match at each position and, on a tie, the rule defined first. That has
visible effects which a route must see here exactly as on a device: `a-1` is one name, `$x+1` is one
property, `5 -1` is two numbers (a syntax error), and `AND`/`FROM` are keywords in any case while
`true`/`null` are keywords only in lower case. The table below keeps ANTLR's definition order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from lark.lexer import Lexer, Token

from central.routing.errors import RouteSyntaxError

_ESC: Final = r"""\\(?:["'\\]|u[0-9a-fA-F]{4})"""
_QUERY_PATH_CHARS: Final = r"""[^()<>@,;:\\"/?={} \t\n\r]"""
_ID_CHARS: Final = r"""[^()<>@,;:\\"/\[\]?={} \t\n\r]"""

RULES: Final[tuple[tuple[str, str], ...]] = (
    ("LBRACE", r"\{"),  # implicit literals of the parser rules come first in ANTLR
    ("RBRACE", r"\}"),
    ("SELECT", r"(?i:select)"),
    ("FROM", r"(?i:from)"),
    ("WHERE", r"(?i:where)"),
    ("INTO", r"(?i:into)"),
    ("STRING", rf""""(?:{_ESC}|[^"\\])*"|'(?:{_ESC}|[^'\\])*'"""),
    ("UNTERMINATED_STRING", rf""""(?:{_ESC}|[^"\\])*|'(?:{_ESC}|[^'\\])*"""),
    ("INTEGER", r"-?[0-9]+"),
    ("HEX", r"0[xX][0-9a-fA-F]+"),
    ("REAL", r"-?[0-9]*\.[0-9]+(?:[eE][+\-]?[0-9]+)?|-?[0-9]*[eE][+\-]?[0-9]+"),
    ("TRUE", r"true"),
    ("FALSE", r"false"),
    ("NULL", r"null"),
    ("UNDEFINED", r"undefined"),
    ("LPAREN", r"\("),
    ("RPAREN", r"\)"),
    ("COMMA", r","),
    ("PLUS", r"\+"),
    ("MINUS", r"-"),
    ("MUL", r"\*"),
    ("DIV", r"/"),
    ("MOD", r"%"),
    ("AND", r"(?i:and)"),
    ("OR", r"(?i:or)"),
    ("NOT", r"(?i:not)"),
    ("EQ", r"="),
    ("NE1", r"!="),
    ("NE2", r"<>"),
    ("LE", r"<="),
    ("GE", r">="),
    ("GT", r">"),
    ("LT", r"<"),
    ("CONCAT", r"\|\|"),
    ("COALESCE", r"\?\?"),
    ("SYS_PROP", rf"\${_QUERY_PATH_CHARS}+"),
    ("ID", rf"{_ID_CHARS}+"),
    ("QUERY_PATH", rf"{_QUERY_PATH_CHARS}+"),
    ("WS", r"[ \t\r\n]+"),
    ("COMMENT", r"/\*.*?\*/"),
    ("UNKNOWN_CHAR", r"."),
)
_COMPILED: Final = tuple((name, re.compile(pattern, re.DOTALL)) for name, pattern in RULES)
_SKIPPED: Final = frozenset({"WS", "COMMENT"})
TERMINALS: Final = tuple(name for name, _ in RULES if name not in _SKIPPED)


def tokenize(text: str) -> Iterator[Token]:
    """The tokens of `text`; unknown characters and unterminated strings are errors here."""
    pos = 0
    while pos < len(text):
        name, end = _longest_match(text, pos)
        value = text[pos:end]
        if name == "UNKNOWN_CHAR":
            raise RouteSyntaxError(f"Syntax error: invalid symbol '{value}'", pos + 1, text)
        if name == "UNTERMINATED_STRING":
            raise RouteSyntaxError("Syntax error: unterminated string", pos + 1, text)
        if name not in _SKIPPED:
            yield Token(name, value, start_pos=pos, line=1, column=pos + 1, end_pos=end)
        pos = end


def _longest_match(text: str, pos: int) -> tuple[str, int]:
    best_name, best_end = "", pos
    for name, pattern in _COMPILED:  # UNKNOWN_CHAR, last, always matches one character
        match = pattern.match(text, pos)
        if match is not None and match.end() > best_end:
            best_name, best_end = name, match.end()
    return best_name, best_end


class RouteLexer(Lexer):
    """Plugs `tokenize` into lark's LALR parser."""

    def __init__(self, lexer_conf: object) -> None:
        self.conf = lexer_conf

    def lex(self, data: str) -> Iterator[Token]:  # type: ignore[override]  # lark's plain-text interface
        return tokenize(data)
