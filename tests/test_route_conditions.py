"""Evaluating route conditions and matching messages: tables of expression → value, a route table
built from `$edgeHub` desired properties, and property-based tests of the evaluator."""

from __future__ import annotations

import json
import math
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central.hub.message import Message
from central.routing import DEFAULT_PRIORITY, DEFAULT_TTL_S, Match, RouteSyntaxError, RouteTable, parse_route
from central.routing.context import EvaluationContext
from central.routing.values import UNDEFINED, Value

JSON_SYSTEM = {"contentType": "application/json", "contentEncoding": "utf-8"}


def message(
    properties: dict[str, str] | None = None,
    system: dict[str, str] | None = None,
    body: object = None,
    source: str = "/messages/modules/sensor/outputs/telemetry",
) -> Message:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Message(raw, properties or {}, system if system is not None else dict(JSON_SYSTEM), source)


def evaluate(expression: str, msg: Message) -> Value:
    route = parse_route(f"FROM /* WHERE {expression} INTO $upstream")
    assert route.condition is not None
    return route.condition.root.evaluate(EvaluationContext(msg))


BODY = {"t": 21.5, "n": 3, "s": "x", "b": True, "z": None, "arr": [1, 2, {"k": "v"}], "obj": {"in": {"deep": 7}}}
PLAIN = message({"a": "x", "$a": "app", "$body.t": "shadow"}, {"a": "sys", **JSON_SYSTEM}, BODY)

VALUES = [
    # arithmetic (numbers are doubles)
    ("1 + 2", 3.0), ("7 % 3", 1.0), ("-7 % 3", -1.0), ("1 / 0", math.inf), ("2 * 3 - 1", 5.0),
    ("- 4 + 1", -3.0), ("0x10 / 4", 4.0),
    # strings
    ("'a' || 'b'", "ab"), ("concat('a', 'b', 'c')", "abc"), ("length('héllo')", 5.0), ("length('😀')", 2.0),
    ("lower('AbC')", "abc"), ("upper('AbC')", "ABC"), ("substring('hello', 1)", "ello"),
    ("substring('hello', 1, 3)", "ell"), ("substring('hello', 9)", UNDEFINED), ("index_of('hello', 'l')", 2.0),
    ("index_of('hello', 'q')", -1.0), ("starts_with('hello', 'he')", True), ("ends_with('hello', 'lo')", True),
    ("contains('hello', 'ell')", True), ("contains('hello', 'z')", False),
    # math
    ("abs(-2)", 2.0), ("exp(0)", 1.0), ("power(2, 10)", 1024.0), ("square(3)", 9.0), ("ceiling(1.2)", 2.0),
    ("floor(-1.2)", -2.0), ("sign(-3)", -1.0), ("sign(0)", 0.0), ("sqrt(16)", 4.0), ("exp(1000)", math.inf),
    # types
    ("as_number('12.5')", 12.5), ("as_number('x')", UNDEFINED), ("as_number($body.n)", 3.0),
    ("as_number($body.s)", UNDEFINED), ("is_bool(true)", True), ("is_bool($body.b)", True),
    ("is_defined(missing)", False), ("is_defined(a)", True), ("is_null(null)", True), ("is_null($body.z)", True),
    ("is_number($body.n)", True), ("is_number($body.s)", False), ("is_string(a)", True),
    # properties: bare = application, $ = application `$name` else system, {$} = system
    ("a", "x"), ("$a", "app"), ("{$a}", "sys"), ("$contentType", "application/json"), ("$missing", UNDEFINED),
    ("missing", UNDEFINED),
    # $body queries
    ("$body.t", "shadow"), ("{$body.t}", 21.5), ("$body.n", 3.0), ("$body.s", "x"), ("$body.b", True),
    ("$body.z", None), ("$body.arr[1]", 2.0), ("$body.arr[2].k", "v"), ("$body.arr[9]", UNDEFINED),
    ("$body.obj", UNDEFINED), ("$body.arr", UNDEFINED), ("$body.obj.in.deep", 7.0), ("$body.nope.x", UNDEFINED),
    # comparisons and three-valued logic
    ("'b' > 'a'", True), ("'B' > 'a'", False), ("{$body.t} > 'a'", UNDEFINED), ("$body.t > 'a'", True), ("null = null", True),
    ("$body.z = $body.z", True), ("$body.n = 3", True), ("$body.n <> 3", False), ("$body.missing = 1", UNDEFINED),
    ("$body.missing = 1 OR true", True), ("$body.missing = 1 AND false", False),
    ("$body.missing = 1 AND true", UNDEFINED), ("NOT ($body.missing = 1)", UNDEFINED), ("NOT null", UNDEFINED),
    ("$body.missing ?? 5", 5.0), ("$body.n ?? 5", 3.0), ("missing ?? 'd'", "d"), ("true = false", False),
]  # fmt: skip


@pytest.mark.parametrize(("expression", "expected"), VALUES)
def test_expression_value(expression: str, expected: Value) -> None:
    value = evaluate(expression, PLAIN)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("system", "body", "found"),
    [
        (JSON_SYSTEM, b'{"t": 1}', 1.0),
        ({"contentType": "Application/JSON", "contentEncoding": "UTF-8"}, b'{"t": 1}', 1.0),
        ({"contentType": "application/json", "contentEncoding": "utf-16"}, '{"t": 1}'.encode("utf-16"), 1.0),
        ({"contentType": "application/json", "contentEncoding": "utf-32"}, '{"t": 1}'.encode("utf-32"), 1.0),
        ({"contentType": "text/plain", "contentEncoding": "utf-8"}, b'{"t": 1}', UNDEFINED),
        ({"contentType": "application/json"}, b'{"t": 1}', UNDEFINED),
        ({"contentType": "application/json", "contentEncoding": "latin-1"}, b'{"t": 1}', UNDEFINED),
        (JSON_SYSTEM, b"not json", UNDEFINED),
        (JSON_SYSTEM, b"\xff\xfe", UNDEFINED),
    ],
)
def test_body_is_read_only_as_json_in_a_unicode_encoding(system: dict[str, str], body: bytes, found: Value) -> None:
    assert evaluate("$body.t", message(system=system, body=body)) == found


def test_a_condition_routes_only_when_true() -> None:
    route = parse_route("FROM /* WHERE $body.t > 20 INTO $upstream")
    assert route.condition is not None
    assert route.condition.evaluate(message(body={"t": 25})) is True
    assert route.condition.evaluate(message(body={"t": 15})) is False
    assert route.condition.evaluate(message(body={"u": 25})) is False  # undefined


# --- the route table ---------------------------------------------------------------------------

DESIRED = {
    "schemaVersion": "1.2",
    "routes": {
        "photos": 'FROM /messages/modules/camera/outputs/photos INTO BrokeredEndpoint("/modules/vision/inputs/photos")',
        "alerts": {"route": "FROM /messages/modules/sensor/outputs/alerts INTO $upstream", "priority": 0,
                   "timeToLiveSecs": 60},
        "hot": {"route": "FROM /messages/modules/sensor/* WHERE $body.t > 30 INTO $upstream", "priority": 1},
        "telemetry": "FROM /Messages/Modules/Sensor/Outputs/Telemetry INTO $upstream",
        "status": {"route": 'FROM /messages/modules/vision/outputs/* INTO BrokeredEndpoint("/modules/sensor/inputs/status")',
                   "timeToLiveSecs": 0},
    },
    "storeAndForwardConfiguration": {"timeToLiveSecs": 300},
}  # fmt: skip


@pytest.fixture
def table() -> RouteTable:
    return RouteTable.from_edgehub(DESIRED)


@pytest.mark.parametrize(
    ("source", "body", "expected"),
    [
        ("/messages/modules/camera/outputs/photos", {}, [Match("photos", "/modules/vision/inputs/photos", DEFAULT_PRIORITY, 300)]),
        ("/messages/modules/camera/outputs/photosx", {}, []),
        ("/messages/modules/camera/outputs/photo", {}, []),
        ("/messages/modules/sensor/outputs/alerts", {}, [Match("alerts", "$upstream", 0, 60)]),
        ("/messages/modules/sensor/outputs/telemetry", {"t": 31},
         [Match("hot", "$upstream", 1, 300), Match("telemetry", "$upstream", DEFAULT_PRIORITY, 300)]),
        ("/messages/modules/sensor/outputs/telemetry", {"t": 3}, [Match("telemetry", "$upstream", DEFAULT_PRIORITY, 300)]),
        ("/messages/modules/vision/outputs/analysis", {}, [Match("status", "/modules/sensor/inputs/status", DEFAULT_PRIORITY, 300)]),
        ("/messages/modules/other/outputs/x", {}, []),
    ],
)  # fmt: skip
def test_match(table: RouteTable, source: str, body: object, expected: list[Match]) -> None:
    assert table.match(message(body=body, source=source)) == expected


def test_modules_referenced_and_defaults(table: RouteTable) -> None:
    assert table.modules_referenced() == {"vision", "sensor"}
    bare = RouteTable.from_edgehub({"routes": {"r": "FROM /* INTO $upstream"}})
    assert bare.match(message()) == [Match("r", "$upstream", DEFAULT_PRIORITY, DEFAULT_TTL_S)]
    assert RouteTable.from_edgehub({}).match(message()) == []


@pytest.mark.parametrize(
    ("routes", "error"),
    [
        ({"bad": "FROM /* WHERE t > 3 INTO $upstream"}, "route 'bad': Invalid operands to binary operator '>'"),
        ({"p": {"route": "FROM /* INTO $upstream", "priority": 10}}, "route 'p': priority must be an integer 0-9"),
        ({"p": {"route": "FROM /* INTO $upstream", "priority": "1"}}, "route 'p': priority must be an integer 0-9"),
        ({"t": {"route": "FROM /* INTO $upstream", "timeToLiveSecs": -1}}, "route 't': timeToLiveSecs must be"),
        ({"o": {"priority": 1}}, "route 'o': must be a string or"),
        ({"n": 5}, "route 'n': must be a string or"),
    ],
)
def test_table_errors_name_the_route(routes: dict[str, object], error: str) -> None:
    with pytest.raises(RouteSyntaxError) as caught:
        RouteTable.from_edgehub({"routes": routes})
    assert caught.value.message.startswith(error)


def test_global_ttl_must_be_positive() -> None:
    with pytest.raises(RouteSyntaxError, match="timeToLiveSecs must be a positive integer"):
        RouteTable.from_edgehub({"routes": {}, "storeAndForwardConfiguration": {"timeToLiveSecs": 0}})


# --- properties --------------------------------------------------------------------------------


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40), st.text(max_size=10))
def test_string_literals_round_trip(value: str, other: str) -> None:
    """Any text written as an escaped literal compares equal to a property holding that text."""
    msg = message({"a": value})
    assert evaluate(f"a = {_literal(value)}", msg) is True
    assert evaluate(f"a = {_literal(value + other)}", msg) is (other == "")


LOGIC_ATOMS = {"true": True, "false": False, "$body.missing = 1": None}  # None: undefined


def _kleene_and(a: bool | None, b: bool | None) -> bool | None:
    return False if False in (a, b) else (None if None in (a, b) else True)


def _kleene_or(a: bool | None, b: bool | None) -> bool | None:
    return True if True in (a, b) else (None if None in (a, b) else False)


logic_trees = st.recursive(
    st.sampled_from(sorted(LOGIC_ATOMS)),
    lambda inner: st.tuples(st.sampled_from(["AND", "OR", "NOT"]), inner, inner),
    max_leaves=12,
)


def _render(tree: object) -> tuple[str, bool | None]:
    """Text (fully parenthesised) and the Kleene-logic value computed independently."""
    if isinstance(tree, str):
        return tree, LOGIC_ATOMS[tree]
    op, left, right = tree  # type: ignore[misc]
    ltext, lvalue = _render(left)
    if op == "NOT":
        return f"NOT ({ltext})", (None if lvalue is None else not lvalue)
    rtext, rvalue = _render(right)
    value = _kleene_and(lvalue, rvalue) if op == "AND" else _kleene_or(lvalue, rvalue)
    return f"({ltext}) {op} ({rtext})", value


@given(logic_trees)
def test_logic_is_three_valued(tree: object) -> None:
    text, expected = _render(tree)
    value = evaluate(text, PLAIN)
    assert value == (UNDEFINED if expected is None else expected)
    assert parse_route(f"FROM /* WHERE {text} INTO $upstream").condition.evaluate(PLAIN) is (expected is True)  # type: ignore[union-attr]


json_scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8)
keys = st.text(alphabet=string.ascii_letters + "_", min_size=1, max_size=6)


@given(st.dictionaries(keys, st.dictionaries(keys, json_scalars, min_size=1), min_size=1))
def test_body_query_finds_every_scalar(body: dict[str, dict[str, object]]) -> None:
    msg = message(body=body)
    for outer, inner in body.items():
        for key, scalar in inner.items():
            found = evaluate(f"{{$body.{outer}.{key}}}", msg)
            expected = float(scalar) if isinstance(scalar, int) and not isinstance(scalar, bool) else scalar
            assert found == expected and type(found) is type(expected)


CONDITIONS = [
    "$body.a > 1 AND as_number(p) < 3 OR starts_with($body.s, q)",
    "substring($body.s, $body.i, $body.j) = 'x' ?? false",
    "power($body.a, $body.b) > sqrt($body.c) / ($body.d % $body.e)",
    "NOT (is_string($body.s) AND length($body.s || p) > 3) OR $connectionModuleId = 'm'",
]


@given(
    st.sampled_from(CONDITIONS),
    st.dictionaries(st.sampled_from(["p", "q", "$body.a"]), st.text(max_size=5)),
    st.binary(max_size=40)
    | st.dictionaries(st.sampled_from("abcdeijs"), json_scalars | st.floats()).map(lambda d: json.dumps(d).encode()),
)
def test_evaluation_never_raises(condition: str, properties: dict[str, str], body: bytes) -> None:
    route = parse_route(f"FROM /* WHERE {condition} INTO $upstream")
    assert route.condition is not None
    assert route.condition.evaluate(message(properties, body=body)) in (True, False)


def test_a_message_is_queued_once_per_endpoint_priority_and_ttl() -> None:
    up = "FROM /messages/* INTO $upstream"
    routes = {"a": up, "b": "FROM /messages/modules/sensor/* INTO $upstream", "c": {"route": up, "priority": 3}}
    matches = RouteTable.from_edgehub({"routes": routes}).match(message())
    assert matches == [
        Match("a", "$upstream", DEFAULT_PRIORITY, DEFAULT_TTL_S),
        Match("c", "$upstream", 3, DEFAULT_TTL_S),
    ]
