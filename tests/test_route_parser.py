"""The route parser: tables of route → (source, condition S-expression, sink), and of broken
routes → (message, column), as edgeHub's compiler would report them."""

from __future__ import annotations

import pytest

from central.routing import ModuleInput, RouteSyntaxError, Upstream, parse_route

W = "FROM /* WHERE {} INTO $upstream"

CONDITIONS = [
    # literals and names
    ("a = 'b'", "(= (app a) 'b')"),
    ('a = "b"', "(= (app a) 'b')"),
    (r"a = 'it\'s'", r"(= (app a) 'it\'s')"),
    (r"a = '\u00e9'", "(= (app a) 'é')"),
    ("$contentType = 'application/json'", "(= (prop contentType) 'application/json')"),
    ("{$contentType} = 'x'", "(= (sys contentType) 'x')"),
    ("$body.a.b[1] = 2", "(= (body $body.a.b[1]) 2.0)"),
    ("{$body.a} = 2", "(= (sysbody $body.a) 2.0)"),
    ("$BODY.x = 0x1F", "(= (body $BODY.x) 31.0)"),
    ("$body.x = 1.5e3", "(= (body $body.x) 1500.0)"),
    ("$body.x = .5", "(= (body $body.x) 0.5)"),
    ("is_null(null)", "(is_null null)"),
    ("is_defined(undefined)", "(is_defined undefined)"),
    ("true", "true"),
    # precedence: unary, * / %, + - ||, < <= > >=, = != <>, AND, OR, ??
    ("1 + 2 * 3 = 7", "(= (+ 1.0 (* 2.0 3.0)) 7.0)"),
    ("(1 + 2) * 3 = 9", "(= (* (+ 1.0 2.0) 3.0) 9.0)"),
    ("10 - 4 - 3 = 3", "(= (- (- 10.0 4.0) 3.0) 3.0)"),
    ("- $body.x % 2 = 1", "(= (% (- (body $body.x)) 2.0) 1.0)"),
    ("a || b = 'ab'", "(= (|| (app a) (app b)) 'ab')"),
    ("1 < 2 = true", "(= (< 1.0 2.0) true)"),
    ("a = 'x' AND b <> 'y' OR c != 'z'", "(or (and (= (app a) 'x') (<> (app b) 'y')) (!= (app c) 'z'))"),
    ("a = 'x' or b = 'y' and c = 'z'", "(or (= (app a) 'x') (and (= (app b) 'y') (= (app c) 'z')))"),
    ("NOT is_defined(a) AND true", "(and (not (is_defined (app a))) true)"),
    ("not not true", "(not (not true))"),
    ("$body.a ?? $body.b = 1", "(?? (body $body.a) (= (body $body.b) 1.0))"),
    ("(a ?? 'd') = 'd'", "(= (?? (app a) 'd') 'd')"),
    # functions, case-insensitive names
    ("UPPER(a) = 'X'", "(= (upper (app a)) 'X')"),
    ("concat(a, 'b', c) = 'x'", "(= (concat (app a) 'b' (app c)) 'x')"),
    ("substring(a, 1) = 'x' AND substring(a, 1, 2) = 'y'",
     "(and (= (substring (app a) 1.0) 'x') (= (substring (app a) 1.0 2.0) 'y'))"),
    ("as_number(a) > 3", "(> (as_number (app a)) 3.0)"),
    ("as_number($body.t) > 3", "(> (as_number (body $body.t)) 3.0)"),
    # ANTLR lexing: a name runs until a delimiter, so `a-1` is one name
    ("a-1 = 'x'", "(= (app a-1) 'x')"),
    ("-a = 'x'", "(= (app -a) 'x')"),
]  # fmt: skip


@pytest.mark.parametrize(("condition", "sexpr"), CONDITIONS)
def test_condition_parses_to(condition: str, sexpr: str) -> None:
    route = parse_route(W.format(condition))
    assert route.condition is not None
    assert route.condition.sexpr() == sexpr
    assert route.condition.text == condition


ROUTES = [
    ('FROM /messages/modules/camera/outputs/photos INTO BrokeredEndpoint("/modules/vision/inputs/photos")',
     "/messages/modules/camera/outputs/photos", ModuleInput("vision", "photos")),
    ("SELECT * FROM /messages/* INTO $upstream", "/messages/*", Upstream()),
    ("select * from /messages/modules/sensor/* into $UPSTREAM", "/messages/modules/sensor/*", Upstream()),
    ("FROM /* INTO brokeredendpoint('/modules/a/inputs/b')", "/*", ModuleInput("a", "b")),
]  # fmt: skip


@pytest.mark.parametrize(("text", "source", "sink"), ROUTES)
def test_route_parts(text: str, source: str, sink: object) -> None:
    route = parse_route(text)
    assert (route.source, route.condition, route.sink, route.text) == (source, None, sink, text)


ERRORS = [
    ("FROM /* WHERE temperature > 30 INTO $upstream",
     "Invalid operands to binary operator '>': have 'string' and 'number', expected 'string' and 'string'", 27),
    ("FROM /* WHERE 5 -1 = 4 INTO $upstream", "Syntax error: unexpected '-1'", 17),
    ("FROM /* WHERE foo(1) INTO $upstream", "Invalid built-in function 'foo'", 15),
    ("FROM /* WHERE upper(1) = 'a' INTO $upstream", "Invalid arguments to built-in function 'upper': upper(number)", 15),
    ("FROM /* WHERE 'abc INTO $upstream", "Syntax error: unterminated string", 15),
    ("FROM /* WHERE a = 'b'", "Syntax error: unexpected end of route", 22),
    ("FROM /* WHERE a # 'b' INTO $upstream", "Syntax error: unexpected '#'", 17),
    ("FROM /* WHERE a ^ b INTO $upstream", "Syntax error: unexpected '^'", 17),
    ("FROM /* WHERE a = ; INTO $upstream", "Syntax error: invalid symbol ';'", 19),
    ("FROM /* WHERE (a = 'b' INTO $upstream", "Syntax error: unexpected 'INTO'", 24),
    ("FROM /* INTO $foo", "Unsupported endpoint '$foo'", 14),
    ('FROM /* INTO Endpoint("/modules/a/inputs/b")', "Unsupported endpoint function 'Endpoint'", 14),
    ('FROM /* INTO BrokeredEndpoint("/modules/a")', 'BrokeredEndpoint needs "/modules/<module>/inputs/<input>"', 31),
    ("FROM /* WHERE NOT a = 'b' INTO $upstream", "Invalid operands to unary operator 'NOT'", 15),
    ("FROM /* WHERE a AND true INTO $upstream", "Invalid operands to binary operator 'AND'", 17),
    ("FROM /* WHERE 1 + 'a' = 2 INTO $upstream", "Invalid operands to binary operator '+'", 17),
    ("FROM /* WHERE 1 || 'a' = 'b' INTO $upstream", "Invalid operands to binary operator '||'", 17),
    ("FROM /* WHERE - a = 1 INTO $upstream", "Invalid operands to unary operator '-'", 15),
    ("FROM /* WHERE a ?? 1 = 1 INTO $upstream", "Invalid operands to binary operator '??'", 17),
    ("FROM /* WHERE $body. = 1 INTO $upstream", "Error in $body query", 15),
    ("FROM /* WHERE $body.a..b = 1 INTO $upstream", "Error in $body query", 15),
    ("WHERE a = 'b' INTO $upstream", "Syntax error: unexpected 'WHERE', expected FROM or SELECT", 1),
    ("FROM messages INTO $upstream", "Syntax error: unexpected 'messages', expected '/'", 6),
    ("", "Syntax error: unexpected end of route", 1),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message", "column"), ERRORS)
def test_route_error(text: str, message: str, column: int) -> None:
    with pytest.raises(RouteSyntaxError) as caught:
        parse_route(text)
    assert caught.value.message.startswith(message)
    assert caught.value.column == column
    assert caught.value.text == text


def test_error_text_points_at_the_column() -> None:
    with pytest.raises(RouteSyntaxError) as caught:
        parse_route("FROM /* WHERE temperature > 30 INTO $upstream")
    lines = str(caught.value).splitlines()
    assert lines[0].endswith("at column 27")
    assert lines[1] == "  FROM /* WHERE temperature > 30 INTO $upstream"
    assert lines[2] == "  " + " " * 26 + "^"
    assert lines[1][lines[2].index("^")] == ">"


def test_comments_are_skipped_and_start_at_any_slash_star() -> None:
    """As in ANTLR, `/*` opens a comment wherever the longest match makes it one, even in a source."""
    route = parse_route("FROM /messages/modules/a/outputs/b WHERE a /* why */ = 'x' INTO $upstream")
    assert route.condition is not None and route.condition.sexpr() == "(= (app a) 'x')"
    swallowed = parse_route("FROM /* all */ /messages INTO $upstream")
    assert swallowed.source == "/messages"
