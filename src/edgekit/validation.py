"""JSON-schema validation that names the offending field.

Direct-method payloads and twin settings are both answered with one line naming
the field, so users can fix a call without reading module logs. Schemas are
compiled by fastjsonschema (draft-07) rather than checked by jsonschema: every
module imports this, and jsonschema with its dependencies costs a module about
6 MB more resident memory on a Raspberry Pi. Messages keep jsonschema's wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import fastjsonschema
from fastjsonschema import JsonSchemaDefinitionException, JsonSchemaValueException

# Keywords from drafts 2019-09/2020-12 that draft-07 would silently ignore; a schema using one is refused.
_LATER_DRAFT_KEYWORDS = frozenset(
    {
        "$defs",
        "$anchor",
        "$dynamicRef",
        "$dynamicAnchor",
        "$recursiveRef",
        "prefixItems",
        "dependentRequired",
        "dependentSchemas",
        "unevaluatedProperties",
        "unevaluatedItems",
        "minContains",
        "maxContains",
    }
)


class InvalidInput(ValueError):
    """A value broke its schema; `field` is a dotted path ('' for the whole value)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def _types(rule: Any) -> str:
    return ", ".join(repr(t) for t in (rule if isinstance(rule, list) else [rule]))


# rule -> message from (value, rule's value), worded as jsonschema words it.
_MESSAGES: dict[str, Callable[[Any, Any], str]] = {
    "type": lambda v, r: f"{v!r} is not of type {_types(r)}",
    "enum": lambda v, r: f"{v!r} is not one of {r!r}",
    "const": lambda v, r: f"{r!r} was expected",
    "minimum": lambda v, r: f"{v!r} is less than the minimum of {r!r}",
    "maximum": lambda v, r: f"{v!r} is greater than the maximum of {r!r}",
    "exclusiveMinimum": lambda v, r: f"{v!r} is less than or equal to the minimum of {r!r}",
    "exclusiveMaximum": lambda v, r: f"{v!r} is greater than or equal to the maximum of {r!r}",
    "multipleOf": lambda v, r: f"{v!r} is not a multiple of {r!r}",
    "pattern": lambda v, r: f"{v!r} does not match {r!r}",
    "minLength": lambda v, r: f"{v!r} {'should be non-empty' if r == 1 else 'is too short'}",
    "maxLength": lambda v, r: f"{v!r} {'is expected to be empty' if r == 0 else 'is too long'}",
    "minItems": lambda v, r: f"{v!r} {'should be non-empty' if r == 1 else 'is too short'}",
    "maxItems": lambda v, r: f"{v!r} {'is expected to be empty' if r == 0 else 'is too long'}",
    "uniqueItems": lambda v, r: f"{v!r} has non-unique elements",
    "minProperties": lambda v, r: f"{v!r} does not have enough properties",
    "maxProperties": lambda v, r: f"{v!r} has too many properties",
    "anyOf": lambda v, r: f"{v!r} is not valid under any of the given schemas",
    "oneOf": lambda v, r: f"{v!r} is not valid under exactly one of the given schemas",
    "not": lambda v, r: f"{v!r} should not be valid under {r!r}",
    "additionalProperties": lambda v, r: "unknown field",
    "required": lambda v, r: "is required",
}


def _unknown_key(error: JsonSchemaValueException) -> str | None:
    definition = error.definition or {}
    known = set(definition.get("properties", {}))
    patterns = list(definition.get("patternProperties", {}))
    extra = sorted(k for k in error.value if k not in known and not any(re.search(p, k) for p in patterns))
    return extra[0] if extra else None


def _field_of(error: JsonSchemaValueException) -> str:
    path = error.path[1:]  # path[0] is fastjsonschema's name for the whole value
    if error.rule == "additionalProperties" and isinstance(error.value, dict):
        key = _unknown_key(error)
        path += [key] if key is not None else []
    elif error.rule == "required" and isinstance(error.value, dict):
        path += [k for k in error.rule_definition if k not in error.value][:1]
    return ".".join(path)


def _message_of(error: JsonSchemaValueException) -> str:
    message = _MESSAGES.get(error.rule or "")
    if message is not None:
        return message(error.value, error.rule_definition)
    # A rule without a jsonschema-style wording: fastjsonschema's own text, minus the value's name.
    return error.message.removeprefix(error.name or "").strip()


def _refuse_later_draft_keywords(schema: Any) -> None:
    if isinstance(schema, dict):
        later = sorted(_LATER_DRAFT_KEYWORDS.intersection(schema))
        if later:
            raise JsonSchemaDefinitionException(f"{later[0]} is not draft-07; write the schema in draft-07")
        for sub in schema.values():
            _refuse_later_draft_keywords(sub)
    elif isinstance(schema, list):
        for sub in schema:
            _refuse_later_draft_keywords(sub)


class Schema:
    """A compiled draft-07 JSON schema whose `check` raises `InvalidInput` for the first error.

    A malformed schema raises `JsonSchemaDefinitionException` here, at module start, not at the first call.
    Defaults in the schema are not filled in and formats are not asserted, as jsonschema did.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        _refuse_later_draft_keywords(schema)
        self.schema = schema
        self._validate = fastjsonschema.compile(schema, use_default=False, use_formats=False)

    def check(self, value: Any) -> None:
        try:
            self._validate(value)
        except JsonSchemaValueException as e:
            raise InvalidInput(_field_of(e), _message_of(e)) from None
