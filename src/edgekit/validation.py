"""JSON-schema validation that names the offending field.

Direct-method payloads and twin settings are both answered with one line naming
the field, so users can fix a call without reading module logs.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError


class InvalidInput(ValueError):
    """A value broke its schema; `field` is a dotted path ('' for the whole value)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def _field_of(error: ValidationError) -> str:
    path = [str(p) for p in error.absolute_path]
    # additionalProperties errors point at the parent; name the unexpected key instead.
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        if extra:
            path.append(extra[0])
            return ".".join(path)
    if error.validator == "required" and isinstance(error.validator_value, list):
        missing = [k for k in error.validator_value if k not in (error.instance or {})]
        if missing:
            path.append(missing[0])
    return ".".join(path)


def _message_of(error: ValidationError) -> str:
    if error.validator == "additionalProperties":
        return "unknown field"
    if error.validator == "required":
        return "is required"
    return error.message


class Schema:
    """A compiled JSON schema whose `check` raises `InvalidInput` for the first error."""

    def __init__(self, schema: dict[str, Any]) -> None:
        Draft202012Validator.check_schema(schema)
        self.schema = schema
        self._validator = Draft202012Validator(schema)

    def check(self, value: Any) -> None:
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            raise InvalidInput(_field_of(first), _message_of(first))
