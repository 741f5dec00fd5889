"""Each field's conversion plan does what the rules say, value by value, and no more.

tap_planhat/conversions.py works a field's rules out once; tests/tap/conversions_reference.py
applies them directly to each value. They must agree on every kind of value Planhat sends, in
fields of every declared type, and the coercer's quick paths must agree with both.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from rfc3339_validator import validate_rfc3339

from planhat_common.fieldtypes import FieldType, Shape
from planhat_common.registry import CUSTOM_FIELD_TYPES, MODELS
from planhat_common.rescued import CUSTOM, RESCUED
from tap_planhat.coerce import Coercer
from tap_planhat.conversions import NO_FIT, FieldCheck, ScalarFit, is_timestamp
from tests.tap import conversions_reference as reference

#: Values of every JSON type, Planhat's loose spellings, and the edges of each conversion.
VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    7,
    -3,
    2**70,
    3.0,
    -0.0,
    31.76,
    1e20,
    1.5e-7,
    1_700_000_000_123,
    1_700_000_000_123.5,
    1_700_000_000.25,
    1e300,
    "",
    "plain text",
    "12.5",
    "42",
    "-0",
    "007",
    "3.0",
    "31.760",
    "1e3",
    "2.5E-3",
    "1e999",
    "1e-999",
    "0.1000000000000000055511151231257827",
    "9" * 400,
    "9" * 400 + ".5",
    "1" + "0" * 4299,
    "1" + "0" * 4300,
    "-1e4299",
    "1e4300",
    "1e999999999",
    "\u0661\u0662",
    "true",
    "false",
    "True",
    "2024-03-01T12:30:00.000Z",
    "2024-01-31T23:59:59.123456+02:00",
    "2024-02-29T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "2024-04-31T10:00:00Z",
    "2024-03-01T00:00:00Z",
    "2024-03-01T00:00:00.000+00:00",
    "2024-03-01T12:30:00.000000+00:00",
    "2024-02-29T12:30:00.000000+00:00",
    "2024-03-01T12:30:00.1234567Z",
    "2024-03-01T12:30:00.1230000Z",
    "0001-01-01T00:30:00+01:00",
    "0000-01-01T00:00:00Z",
    "\uff12\uff10\uff12\uff14-01-01T00:00:00Z",
    "2024-03-01",
    "2024-02-30",
    {},
    {"k": "v", "n": 1},
    [],
    ["a", "b"],
    ["a", 1],
    [1, 2.5],
    ["1", "2.5"],
    [True, None],
    [[1, 2]],
    [{"k": 1}],
    ["2024-03-01"],
    [1_700_000_000_123],
    ["a", {"k": 1}, 3],
]


def _field_types() -> list[FieldType]:
    """Every declared type in use, each shape alone, and every union of two shapes."""
    found = {ftype for model in MODELS for ftype in model.fields.values()}
    found.update(CUSTOM_FIELD_TYPES.values())
    found.update(FieldType.of(a, b) for a, b in itertools.product(Shape, repeat=2))
    return sorted(found, key=str)


FIELD_TYPES = _field_types()


def _outcome(call: Any, value: Any) -> tuple[str, str]:
    """What ``call(value)`` gives, spelled so that 1, 1.0 and True differ."""
    try:
        return "returns", repr(call(value))
    except Exception as exc:  # noqa: BLE001 - both sides must fail alike
        return "raises", type(exc).__name__


@pytest.mark.parametrize("as_text", [False, True])
@pytest.mark.parametrize("field_type", FIELD_TYPES, ids=str)
def test_a_field_plan_agrees_with_the_rules_on_every_value(
    field_type: FieldType, *, as_text: bool
) -> None:
    check = FieldCheck(field_type, as_text=as_text)
    for value in VALUES:
        expected = _outcome(lambda v: reference.check(field_type, v, as_text=as_text), value)
        assert _outcome(check, value) == expected, value


@pytest.mark.parametrize("field_type", FIELD_TYPES, ids=str)
def test_a_scalar_plan_agrees_with_the_rules(field_type: FieldType) -> None:
    # Array items are checked by a ScalarFit of the item shapes.
    for shapes in (field_type.scalars, field_type.items or frozenset()):
        fit = ScalarFit(shapes)
        for value in VALUES:
            kept = fit(value)
            got = (False, None) if kept is NO_FIT else (True, kept)
            assert repr(got) == repr(reference.fit_scalar(value, shapes)), value


@pytest.mark.parametrize("as_text", [False, True])
@pytest.mark.parametrize("field_type", FIELD_TYPES, ids=str)
def test_the_quick_paths_keep_only_values_that_fit_as_they_are(
    field_type: FieldType, *, as_text: bool
) -> None:
    check = FieldCheck(field_type, as_text=as_text)
    for value in VALUES:
        quick = type(value) in check.fine
        if isinstance(value, str) and check.quick_timestamp is not None:
            quick = quick or check.quick_timestamp(value) is not None
        if isinstance(value, list) and check.item_fine is not None:
            quick = quick or check.item_fine.issuperset(map(type, value))
        if quick:
            assert reference.check(field_type, value, as_text=as_text) == (True, value), value
            assert check.fix(value) is value


@pytest.mark.parametrize("as_text", [False, True])
@pytest.mark.parametrize("field_type", FIELD_TYPES, ids=str)
def test_the_coercer_keeps_converts_or_rescues_as_the_rules_say(
    field_type: FieldType, *, as_text: bool
) -> None:
    text = as_text and field_type.is_union  # only unions are written as JSON text
    for value in VALUES:
        coercer = Coercer("s", {"f": field_type}, {"c": field_type}, unions_as_text=as_text)
        try:
            fits, kept = reference.check(field_type, value, as_text=text)
        except Exception:  # noqa: BLE001 - an integer orjson cannot write as text
            with pytest.raises(Exception):  # noqa: B017, PT011 - the same failure
                coercer({"_id": "x", "f": value})
            continue
        record = coercer({"_id": "x", "f": value, CUSTOM: {"c": value}})
        rescued = record.get(RESCUED, {})
        if fits:
            assert repr(record["f"]) == repr(kept), value
            assert repr(record[CUSTOM]["c"]) == repr(kept), value
            assert RESCUED not in record
        else:
            assert record["f"] is None, value
            assert record[CUSTOM]["c"] is None, value
            assert rescued == {"f": value, CUSTOM: {"c": value}}
            assert dict(coercer.rescued) == {"f": 1, f"{CUSTOM}.c": 1}


def test_a_value_that_fits_nothing_is_reported_as_no_fit() -> None:
    check = FieldCheck(FieldType.of(Shape.NUMBER))
    assert check.fix("n/a") is NO_FIT
    assert check("n/a") == (False, None)
    assert repr(NO_FIT) == "NO_FIT"


def _timestamps() -> list[str]:
    """Every month and day (and days that do not exist) of leap and other years, and oddities."""
    stamps = [
        f"{year}-{month:02d}-{day:02d}T{time}"
        for year in ("0001", "1900", "2000", "2023", "2024")
        for month in range(13)
        for day in range(33)
        for time in ("10:00:00Z", "23:59:59.5+05:30")
    ]
    stamps += [
        "0000-01-01T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T10:60:00Z",
        "2024-01-01T10:00:60Z",
        "2024-01-01T10:00:00+24:00",
        "2024-01-01T10:00:00+05:60",
        "2024-01-01t10:00:00z",
        "2024-01-01 10:00:00Z",
        "2024-01-01T10:00:00",
        "2024-01-01",
        "\uff12\uff10\uff12\uff14-01-01T00:00:00Z",
        "2024-0\u0661-01T00:00:00Z",
        "2024-01-01T1\u0660:00:00Z",
    ]
    return stamps


def test_timestamps_are_what_json_schema_validators_accept() -> None:
    for stamp in _timestamps():
        assert is_timestamp(stamp) == validate_rfc3339(stamp), stamp


def test_a_timestamp_in_digits_other_than_ascii_is_not_kept() -> None:
    # rfc3339-validator reads ASCII digits only: such a value would fail a strict target.
    stamp = "\uff12\uff10\uff12\uff14-01-01T00:00:00Z"
    check = FieldCheck(FieldType.of(Shape.DATETIME))
    assert check.quick_timestamp is not None
    assert check.quick_timestamp(stamp) is None
    assert check(stamp) == (False, None)
