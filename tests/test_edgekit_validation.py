"""edgekit's Schema: each refusal names the field and says what is wrong in jsonschema's words."""

from __future__ import annotations

from typing import Any

import pytest
from fastjsonschema import JsonSchemaDefinitionException

from edgekit.validation import InvalidInput, Schema

PAYLOAD = Schema(
    {
        "type": "object",
        "properties": {
            "quality": {"type": "integer", "minimum": 1, "maximum": 100, "default": 85},
            "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 8},
            "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "uniqueItems": True},
            "box": {
                "type": "object",
                "properties": {"w": {"type": "number", "exclusiveMinimum": 0}},
                "required": ["w"],
                "additionalProperties": False,
            },
        },
        "required": ["quality"],
        "additionalProperties": False,
    }
)


@pytest.mark.parametrize(
    ("value", "field", "message"),
    [
        ({"quality": 0}, "quality", "0 is less than the minimum of 1"),
        ({"quality": 101}, "quality", "101 is greater than the maximum of 100"),
        ({"quality": "high"}, "quality", "'high' is not of type 'integer'"),
        ({"quality": True}, "quality", "True is not of type 'integer'"),
        ({}, "quality", "is required"),
        ({"quality": 5, "zoom": 2, "pan": 1}, "pan", "unknown field"),
        ({"quality": 5, "name": "Cam"}, "name", "'Cam' does not match '^[a-z]+$'"),
        ({"quality": 5, "name": "abcdefghi"}, "name", "'abcdefghi' is too long"),
        ({"quality": 5, "tags": ["a", "c"]}, "tags.1", "'c' is not one of ['a', 'b']"),
        ({"quality": 5, "tags": ["a", "a"]}, "tags", "['a', 'a'] has non-unique elements"),
        ({"quality": 5, "box": {}}, "box.w", "is required"),
        ({"quality": 5, "box": {"w": 0}}, "box.w", "0 is less than or equal to the minimum of 0"),
        ({"quality": 5, "box": {"w": 1, "h": 1}}, "box.h", "unknown field"),
        ([5], "", "[5] is not of type 'object'"),
    ],
)
def test_refusal_names_the_field_and_the_reason(value: Any, field: str, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        PAYLOAD.check(value)
    assert (caught.value.field, caught.value.message) == (field, message)
    assert str(caught.value) == (f"{field}: {message}" if field else message)


def test_a_valid_value_passes_and_is_not_filled_with_defaults() -> None:
    value = {"quality": 5, "tags": ["a", "b"], "box": {"w": 0.5}}
    PAYLOAD.check(value)
    assert value == {"quality": 5, "tags": ["a", "b"], "box": {"w": 0.5}}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "integr"},
        {"minimum": "1"},
        {"prefixItems": [{"type": "string"}]},
        {"type": "object", "properties": {"x": {"dependentRequired": {"a": ["b"]}}}},
    ],
)
def test_a_malformed_or_later_draft_schema_is_refused_at_start(schema: dict[str, Any]) -> None:
    with pytest.raises(JsonSchemaDefinitionException):
        Schema(schema)
