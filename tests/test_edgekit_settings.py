"""Twin-bound settings: good values apply, bad ones are rejected with a reason and the last good value stays."""

import pytest

from edgekit import Settings
from edgekit.validation import InvalidInput, Schema

SCHEMA = {
    "type": "object",
    "properties": {
        "interval_s": {"type": "integer", "minimum": 1, "maximum": 3600},
        "resolution": {"type": "string", "pattern": r"^\d{2,5}x\d{2,5}$"},
        "thresholds": {
            "type": "object",
            "properties": {"high": {"type": "number"}, "low": {"type": "number"}},
            "additionalProperties": False,
        },
    },
}
DEFAULTS = {"interval_s": 15, "resolution": "1280x720", "thresholds": {"high": 30, "low": 5}}


def make() -> Settings:
    return Settings(SCHEMA, DEFAULTS)


def test_good_patch_applies_and_reports_change() -> None:
    s = make()
    change = s.apply({"interval_s": 5, "$version": 3})
    assert change.changed == {"interval_s": 5}
    assert change.rejected == {}
    assert s["interval_s"] == 5


def test_bad_value_is_rejected_and_last_good_value_stays() -> None:
    s = make()
    s.apply({"interval_s": 5})
    change = s.apply({"interval_s": 0, "resolution": "640x480"})
    assert s["interval_s"] == 5
    assert s["resolution"] == "640x480"
    assert change.rejected["interval_s"] == "0 is less than the minimum of 1"
    assert s.reported()["rejected"] == {"interval_s": change.rejected["interval_s"]}


def test_a_later_good_value_clears_the_rejection() -> None:
    s = make()
    s.apply({"interval_s": "often"})
    assert s.reported()["rejected"]
    s.apply({"interval_s": 60})
    assert s.reported()["rejected"] is None


def test_unknown_setting_is_rejected_by_name() -> None:
    change = make().apply({"colour": "red"})
    assert change.rejected == {"colour": "unknown setting"}


def test_nested_patch_merges_and_validates_the_whole_object() -> None:
    s = make()
    s.apply({"thresholds": {"high": 35}})
    assert s["thresholds"] == {"high": 35, "low": 5}
    change = s.apply({"thresholds": {"bogus": 1}})
    assert change.rejected["thresholds"] == "bogus: unknown field"
    assert s["thresholds"] == {"high": 35, "low": 5}


def test_null_restores_the_default() -> None:
    s = make()
    s.apply({"interval_s": 99})
    change = s.apply({"interval_s": None})
    assert s["interval_s"] == 15
    assert change.changed == {"interval_s": 15}


def test_invalid_defaults_fail_at_construction() -> None:
    with pytest.raises(InvalidInput):
        Settings(SCHEMA, {"interval_s": -1})


def test_schema_names_the_missing_field() -> None:
    schema = Schema({"type": "object", "required": ["blob"], "properties": {"blob": {"type": "string"}}})
    with pytest.raises(InvalidInput) as exc:
        schema.check({})
    assert exc.value.field == "blob"


def test_a_check_rejects_what_the_schema_lets_through() -> None:
    def within_limits(value: str) -> None:
        if int(value.split("x")[0]) < 16:
            raise InvalidInput("resolution", f"{value} is too small")

    s = Settings(SCHEMA, DEFAULTS, checks={"resolution": within_limits})
    change = s.apply({"resolution": "10x10"})
    assert change.rejected == {"resolution": "10x10 is too small"}
    assert s["resolution"] == "1280x720"
    with pytest.raises(InvalidInput):
        Settings(SCHEMA, {**DEFAULTS, "resolution": "10x10"}, checks={"resolution": within_limits})
