"""The conversion rules read directly, per value: the oracle for tap_planhat/conversions.py.

tap_planhat/conversions.py works each field's rules out once (which Python types fit as they
are, which converter each other type takes). This module is how the rules were applied before
that: the declared shapes are looked at anew for every value. The two must agree on every
value and every declared type (tests/tap/test_conversions.py). Small helpers that read one
spelling (a timestamp, a date, a decimal, an epoch) are shared, and tested on their own.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson

from planhat_common.epoch_days import epoch_day
from planhat_common.fieldtypes import Shape
from tap_planhat.conversions import (
    _INTEGRAL,
    _MIDNIGHT,
    _date,
    _decimal,
    _epoch_timestamp,
    canonical_timestamp,
    is_timestamp,
)

if TYPE_CHECKING:
    from planhat_common.fieldtypes import FieldType

_NO = (False, None)
_FITS: dict[type, frozenset[Shape]] = {
    bool: frozenset({Shape.BOOLEAN}),
    int: frozenset({Shape.INTEGER, Shape.EPOCH_DAY, Shape.NUMBER}),
    float: frozenset({Shape.NUMBER}),
    str: frozenset({Shape.STRING}),
    dict: frozenset({Shape.OBJECT}),
}


def _from_string(value: str, shapes: frozenset[Shape]) -> tuple[bool, Any]:  # noqa: C901, PLR0911
    if Shape.DATETIME in shapes and is_timestamp(value):
        return True, canonical_timestamp(value)
    if shapes & {Shape.INTEGER, Shape.EPOCH_DAY, Shape.NUMBER}:
        number = _decimal(value)
        # An integer of more digits than Python writes as text (4,300) could not be emitted.
        if number is not None and number.adjusted() < 4300:
            if shapes & {Shape.INTEGER, Shape.EPOCH_DAY} and number == number.to_integral_value():
                return True, int(number)
            if Shape.NUMBER in shapes:
                converted = float(number)
                if _INTEGRAL.fullmatch(value):
                    return True, int(number)
                if Decimal(repr(converted)) == number:
                    return True, converted
    if Shape.BOOLEAN in shapes and value in {"true", "false"}:
        return True, value == "true"
    if Shape.EPOCH_DAY in shapes:
        midnight = _MIDNIGHT.fullmatch(value)
        day = _date(midnight.group(1) if midnight else value)
        if day is not None:
            return True, epoch_day(day)
    if Shape.DATETIME in shapes:
        day = _date(value)
        if day is not None:
            return True, f"{day.isoformat()}T00:00:00.000000+00:00"
    return _NO


def _from_number(value: float, shapes: frozenset[Shape]) -> tuple[bool, Any]:
    if type(value) is float and value.is_integer() and shapes & {Shape.INTEGER, Shape.EPOCH_DAY}:
        return True, int(value)
    if Shape.DATETIME in shapes:
        stamp = _epoch_timestamp(value)
        if stamp is not None:
            return True, stamp
    if Shape.STRING in shapes:
        return True, repr(value)
    return _NO


def fit_scalar(value: Any, shapes: frozenset[Shape]) -> tuple[bool, Any]:
    """``(True, value)`` if ``value`` fits ``shapes`` as is or after a lossless conversion."""
    if value is None or Shape.ANY in shapes:
        return True, value
    if not shapes.isdisjoint(_FITS.get(type(value), ())):
        return True, value
    kind = type(value)
    if kind is str:
        return _from_string(value, shapes)
    if kind is bool:
        return (True, "true" if value else "false") if Shape.STRING in shapes else _NO
    if kind in {int, float}:
        return _from_number(value, shapes)
    return _NO


def check(field_type: FieldType, value: Any, *, as_text: bool = False) -> tuple[bool, Any]:
    """What a field of ``field_type`` makes of ``value``: ``(fits, kept or converted)``."""
    fits, kept = _fit(field_type, value)
    if fits and as_text and kept is not None:
        return True, orjson.dumps(kept).decode()
    return fits, kept


def _fit(field_type: FieldType, value: Any) -> tuple[bool, Any]:
    if type(value) is not list:
        return fit_scalar(value, field_type.scalars)
    items = field_type.items
    if items is None:
        return (True, value) if Shape.ANY in field_type.scalars else _NO
    converted: list[Any] | None = None
    for index, item in enumerate(value):
        fits, new = fit_scalar(item, items)
        if not fits:
            return _NO
        if new is not item:
            if converted is None:
                converted = list(value)
            converted[index] = new
    return True, value if converted is None else converted
