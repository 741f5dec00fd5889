"""Does a value fit a declared type, and which lossless conversion would make it fit?

The conversions (docs/field-types.md, "Conversions"; listed in the README too) change how a
value is spelled, never what it says:

* a numeric string in a field that holds no strings becomes the number it spells, when the
  number reads back as exactly that decimal (``"31.76"`` -> ``31.76``);
* a whole float in an integer field becomes an integer (``3.0`` -> ``3``);
* ``"true"``/``"false"`` in a boolean field that holds no strings become booleans;
* a number in a timestamp field is a Unix epoch (milliseconds above 10^11) and becomes the
  ISO timestamp of that instant, when no precision is lost;
* a date (``"2024-01-31"``) in a timestamp field becomes midnight UTC of that day, and in an
  epoch-day field (or a timestamp at midnight UTC) the number of that day;
* a number or boolean in a field that holds strings but not numbers becomes its JSON text.

Anything else that does not fit is not converted: the caller rescues it.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import orjson

from planhat_common.epoch_days import epoch_day
from planhat_common.fieldtypes import Shape

if TYPE_CHECKING:
    from collections.abc import Callable

    from planhat_common.fieldtypes import FieldType

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
#: Epoch values above this are milliseconds (10^11 seconds is the year 5138).
_MS_THRESHOLD = 1e11
#: RFC 3339 as the ``rfc3339-validator`` package reads it (what JSON Schema validators use):
#: upper-case T and Z, no leap second, years from 0001.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:Z|[+-](\d\d):(\d\d))"
)
#: The same, for days 1 to 28 of any month of years from 0001: most timestamps match this
#: one expression and need no further look.
_EVERYDAY_TIMESTAMP = re.compile(
    r"(?!0000)\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
)
_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)")
_MIDNIGHT = re.compile(r"(\d{4}-\d\d-\d\d)T00:00:00(?:\.0+)?(?:Z|[+-]00:00)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_INTEGRAL = re.compile(r"-?\d+")
_HOURS, _MINUTES, _SECONDS = 23, 59, 59

_NO = (False, None)


def is_timestamp(value: str) -> bool:
    """Whether ``value`` is an RFC 3339 date-time, as JSON Schema's ``date-time`` format."""
    if _EVERYDAY_TIMESTAMP.fullmatch(value):
        return True
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    offset_hours, offset_minutes = match.group(7), match.group(8)
    return (
        year >= 1
        and 1 <= month <= 12  # noqa: PLR2004
        and 1 <= day <= calendar.monthrange(year, month)[1]
        and hour <= _HOURS
        and minute <= _MINUTES
        and second <= _SECONDS
        and (offset_hours is None or int(offset_hours) <= _HOURS)
        and (offset_minutes is None or int(offset_minutes) <= _MINUTES)
    )


def _date(value: str) -> dt.date | None:
    if _DATE.fullmatch(value) is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _iso(instant: dt.datetime) -> str:
    spec = "milliseconds" if instant.microsecond % 1000 == 0 else "microseconds"
    return instant.isoformat(timespec=spec).replace("+00:00", "Z")


def _epoch_timestamp(value: float) -> str | None:
    """The ISO timestamp of a Unix epoch in seconds or milliseconds, if exactly representable."""
    milliseconds = abs(value) > _MS_THRESHOLD
    try:
        delta = dt.timedelta(milliseconds=value) if milliseconds else dt.timedelta(seconds=value)
        instant = _EPOCH + delta
    except (OverflowError, ValueError):
        return None
    micros = delta // dt.timedelta(microseconds=1)
    back = micros / 1000 if milliseconds else micros / 1_000_000
    return _iso(instant) if back == value else None


def _decimal(value: str) -> Decimal | None:
    if _NUMBER.fullmatch(value) is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern only admits valid decimals
        return None


def _from_string(value: str, shapes: frozenset[Shape]) -> tuple[bool, Any]:  # noqa: C901, PLR0911
    if Shape.DATETIME in shapes and is_timestamp(value):
        return True, value
    if shapes & {Shape.INTEGER, Shape.EPOCH_DAY, Shape.NUMBER}:
        number = _decimal(value)
        if number is not None:
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
            return True, f"{day.isoformat()}T00:00:00.000Z"
    return _NO


def _from_number(value: float, shapes: frozenset[Shape]) -> tuple[bool, Any]:
    """``value`` is an ``int`` or a ``float`` (JSON numbers parse to either)."""
    if type(value) is float and value.is_integer() and shapes & {Shape.INTEGER, Shape.EPOCH_DAY}:
        return True, int(value)
    if Shape.DATETIME in shapes:
        stamp = _epoch_timestamp(value)
        if stamp is not None:
            return True, stamp
    if Shape.STRING in shapes:
        return True, repr(value)  # the JSON text of the number
    return _NO


#: Per Python type of a parsed JSON value, the shapes it fits as it is.
_FITS: dict[type, frozenset[Shape]] = {
    bool: frozenset({Shape.BOOLEAN}),
    int: frozenset({Shape.INTEGER, Shape.EPOCH_DAY, Shape.NUMBER}),
    float: frozenset({Shape.NUMBER}),
    str: frozenset({Shape.STRING}),
    dict: frozenset({Shape.OBJECT}),
}


def _fits_as_is(value: Any, shapes: frozenset[Shape]) -> bool:
    if value is None or Shape.ANY in shapes:
        return True
    return not shapes.isdisjoint(_FITS.get(type(value), ()))


def fit_scalar(value: Any, shapes: frozenset[Shape]) -> tuple[bool, Any]:
    """``(True, value)`` if ``value`` fits ``shapes`` as is or after a lossless conversion."""
    if _fits_as_is(value, shapes):
        return True, value
    kind = type(value)
    if kind is str:
        return _from_string(value, shapes)
    if kind is bool:
        return (True, "true" if value else "false") if Shape.STRING in shapes else _NO
    if kind in {int, float}:
        return _from_number(value, shapes)
    return _NO


class FieldCheck:
    """Checks values of one declared type.

    The hot path (:mod:`tap_planhat.coerce`) needs no call for most values: values of a
    :attr:`fine` type fit as they are, as do strings :attr:`quick_timestamp` matches and lists
    whose items are all of an :attr:`item_fine` type. Anything else goes through
    :meth:`__call__`.

    With ``as_text``, a value that fits is returned as its JSON text (for loaders that cannot
    hold a union in one column); then no value is fine as it is.
    """

    def __init__(self, field_type: FieldType, *, as_text: bool = False) -> None:
        """Prepare the checks for ``field_type``."""
        self.field_type = field_type
        self.as_text = as_text
        self.scalars = field_type.scalars
        self.items = field_type.items
        # A string in a timestamp field must be a valid timestamp: look at every one.
        fine = {kind for kind, shapes in _FITS.items() if not shapes.isdisjoint(self.scalars)}
        if Shape.ANY in self.scalars or (self.items is not None and Shape.ANY in self.items):
            fine.update(_FITS if Shape.ANY in self.scalars else (), {list})
        self.fine: frozenset[type] = frozenset({type(None), *fine} if not as_text else {type(None)})
        #: Matches most valid timestamps (days 1 to 28); others take the full check.
        self.quick_timestamp: Callable[[str], Any] | None = None
        if Shape.DATETIME in self.scalars and not as_text:
            self.quick_timestamp = _EVERYDAY_TIMESTAMP.fullmatch
        self.item_fine: frozenset[type] | None = None
        self._item: Callable[[Any], tuple[bool, Any]] | None = None
        if self.items is not None:
            items = self.items
            self._item = lambda item: fit_scalar(item, items)
            if not as_text:
                kinds = (kind for kind, shapes in _FITS.items() if not shapes.isdisjoint(items))
                self.item_fine = frozenset({type(None), *kinds})

    def __call__(self, value: Any) -> tuple[bool, Any]:
        """``(True, kept or converted value)``, or ``(False, None)`` when nothing fits."""
        fits, kept = self._fit(value)
        if fits and self.as_text and kept is not None:
            return True, orjson.dumps(kept).decode()
        return fits, kept

    def _fit(self, value: Any) -> tuple[bool, Any]:
        if type(value) is list:
            if self._item is None:
                return (True, value) if Shape.ANY in self.scalars else _NO
            return self._fit_list(value, self._item)
        return fit_scalar(value, self.scalars)

    @staticmethod
    def _fit_list(value: list[Any], fit: Callable[[Any], tuple[bool, Any]]) -> tuple[bool, Any]:
        converted: list[Any] | None = None
        for index, item in enumerate(value):
            fits, new = fit(item)
            if not fits:
                return _NO
            if new is not item:
                if converted is None:
                    converted = list(value)
                converted[index] = new
        return True, value if converted is None else converted
