"""Does a value fit a declared type, and which lossless conversion would make it fit?

The conversions (docs/field-types.md, "Conversions"; summarised in docs/tap.md) change how a
value is spelled, never what it says:

* a numeric string in a field that holds no strings becomes the number it spells, when the
  number reads back as exactly that decimal (``"31.76"`` -> ``31.76``);
* a whole float in an integer field becomes an integer (``3.0`` -> ``3``);
* ``"true"``/``"false"`` in a boolean field that holds no strings become booleans;
* a number in a timestamp field is a Unix epoch (milliseconds above 10^11) and becomes the
  ISO timestamp of that instant, when no precision is lost;
* a date (``"2024-01-31"``) in a timestamp field becomes midnight UTC of that day, and in an
  epoch-day field (or a timestamp at midnight UTC) the number of that day;
* a number or boolean in a field that holds strings but not numbers becomes its JSON text;
* every timestamp, converted or kept, is written in one spelling, UTC to the microsecond
  (``2024-01-31T10:00:00.123000+00:00``, :func:`canonical_timestamp`).

Anything else that does not fit is not converted: the caller rescues it.

Which of these apply depends only on the field's declared shapes, so each field's rules are
worked out once (:class:`ScalarFit`, :class:`FieldCheck`): per Python type of a parsed JSON
value, whether it fits as it is, or which converter to try. Checking a value is then a set
lookup and at most one call, with no set arithmetic on shapes per value.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

import orjson

from planhat_common.epoch_days import epoch_day
from planhat_common.fieldtypes import Shape
from tap_planhat.paging.page_filter import normalise_timestamp

if TYPE_CHECKING:
    from collections.abc import Callable

    from planhat_common.fieldtypes import FieldType

    #: Takes a value of one Python type; returns it, its conversion, or :data:`NO_FIT`.
    Converter = Callable[[Any], Any]


class _NoFit:
    """The type of :data:`NO_FIT`."""

    def __repr__(self) -> str:
        return "NO_FIT"


#: What a converter returns when the value fits no declared type (a value may be ``None``).
NO_FIT: Final = _NoFit()

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: Epoch values above this are milliseconds (10^11 seconds is the year 5138).
_MS_THRESHOLD = 1e11
#: RFC 3339 as the ``rfc3339-validator`` package reads it (what JSON Schema validators use):
#: ASCII digits, upper-case T and Z, no leap second, years from 0001.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?(?:Z|[+-](\d\d):(\d\d))", re.ASCII
)
#: Month and day of every valid date but February 29, which needs the year.
_MONTH_DAY = (
    r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])"
    r"|(?:0[13-9]|1[0-2])-(?:29|30)"
    r"|(?:0[13578]|1[02])-31)"
)
#: The same as :data:`_TIMESTAMP` and its range checks, for every day but February 29: all
#: but a few timestamps match this one expression and need no further look.
_QUICK_TIMESTAMP = re.compile(
    r"(?!0000)\d{4}-" + _MONTH_DAY + r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(?:\.\d+)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)",
    re.ASCII,
)
#: :data:`_QUICK_TIMESTAMP` in the one spelling the tap writes (:func:`canonical_timestamp`):
#: what most timestamps already are once a page was read, and what needs no conversion.
_QUICK_CANONICAL = re.compile(
    r"(?!0000)\d{4}-" + _MONTH_DAY + r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{6}\+00:00",
    re.ASCII,
)
#: The shape of that spelling, for a value already known to be a timestamp.
_CANONICAL = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", re.ASCII)
#: Length of Planhat's own spelling, ``2024-01-31T10:00:00.123Z``.
_PLANHAT_LENGTH = 24
#: Digits of a fraction of a second beyond the microsecond.
_BELOW_MICROSECOND = re.compile(r"\.\d{6}(\d+)", re.ASCII)
_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)")
_MIDNIGHT = re.compile(r"(\d{4}-\d\d-\d\d)T00:00:00(?:\.0+)?(?:Z|[+-]00:00)")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_INTEGRAL = re.compile(r"-?\d+")
_HOURS, _MINUTES, _SECONDS = 23, 59, 59
#: Python's default limit on the digits of an integer written as text: a longer integer
#: could not be emitted (and ``"1e999999999"`` would take minutes to build), so a numeric
#: string that spells one fits no number type and is rescued as it is.
_MAX_INTEGER_DIGITS = 4300


def is_timestamp(value: str) -> bool:
    """Whether ``value`` is an RFC 3339 date-time, as JSON Schema's ``date-time`` format."""
    if _QUICK_TIMESTAMP.fullmatch(value):
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


def canonical_timestamp(value: str) -> str:
    """The tap's one spelling of the timestamp ``value`` (which :func:`is_timestamp` accepts).

    UTC to the microsecond, ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``: what the SDK writes for its
    bookmark signpost and the tap for replication keys (:func:`normalise_timestamp`), so one
    table holds one spelling and bookmarks compare as strings in time order
    (docs/field-types.md, "What the tap does with each value"). An instant this spelling
    cannot hold without loss keeps its own: a fraction finer than a microsecond, or a year
    that UTC moves out of 1-9999.
    """
    if _CANONICAL.fullmatch(value):
        return value
    finer = _BELOW_MICROSECOND.search(value)
    if finer is not None and finer.group(1).strip("0"):
        return value
    try:
        return normalise_timestamp(value)
    except OverflowError:
        return value


def _iso(instant: dt.datetime) -> str:
    return instant.isoformat(timespec="microseconds")


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


# String conversions, one per rule; each returns the converted value or NO_FIT.


def _kept_timestamp(value: str) -> Any:
    # Planhat's own spelling (``...SS.mmmZ``) first: most timestamps, one regex.
    if len(value) == _PLANHAT_LENGTH and value[-1] == "Z" and _QUICK_TIMESTAMP.fullmatch(value):
        return value[:-1] + "000+00:00"
    return canonical_timestamp(value) if is_timestamp(value) else NO_FIT


def _whole_number(value: str) -> Any:
    """A numeric string in an integer or epoch-day field: its integer, when it is whole."""
    number = _decimal(value)
    if number is None or number.adjusted() >= _MAX_INTEGER_DIGITS:
        return NO_FIT
    return int(number) if number == number.to_integral_value() else NO_FIT


def _number(value: str) -> Any:
    """A numeric string in a number field: its integer or float, when that reads back exactly."""
    if _NUMBER.fullmatch(value) is None:
        return NO_FIT
    if _INTEGRAL.fullmatch(value):
        # Through Decimal, which reads any length (int() refuses more than 4,300 digits).
        number = Decimal(value)
        return int(number) if number.adjusted() < _MAX_INTEGER_DIGITS else NO_FIT
    converted = float(value)
    if repr(converted) == value:  # the usual case: Planhat spells the float Python's way
        return converted
    # Other spellings of the same decimal ("31.760", "3e2") still convert without loss.
    return converted if Decimal(repr(converted)) == Decimal(value) else NO_FIT


def _boolean(value: str) -> Any:
    return (value == "true") if value in {"true", "false"} else NO_FIT


def _day_number(value: str) -> Any:
    """A date, or a timestamp at midnight UTC, in an epoch-day field: that day's number."""
    midnight = _MIDNIGHT.fullmatch(value)
    day = _date(midnight.group(1) if midnight else value)
    return NO_FIT if day is None else epoch_day(day)


def _midnight(value: str) -> Any:
    """A date in a timestamp field: midnight UTC of that day."""
    day = _date(value)
    return NO_FIT if day is None else f"{day.isoformat()}T00:00:00.000000+00:00"


def _string_rules(shapes: frozenset[Shape]) -> list[Converter]:
    """The string conversions ``shapes`` allow, in the order they are tried."""
    rules: list[Converter] = []
    if Shape.DATETIME in shapes:
        rules.append(_kept_timestamp)
    if shapes & {Shape.INTEGER, Shape.EPOCH_DAY}:
        rules.append(_whole_number)
    if Shape.NUMBER in shapes:
        rules.append(_number)
    if Shape.BOOLEAN in shapes:
        rules.append(_boolean)
    if Shape.EPOCH_DAY in shapes:
        rules.append(_day_number)
    if Shape.DATETIME in shapes:
        rules.append(_midnight)
    return rules


def _first_fit(rules: list[Converter]) -> Converter | None:
    """One converter trying ``rules`` in order (``None`` when there are none)."""
    if not rules:
        return None
    if len(rules) == 1:
        return rules[0]

    def convert(value: Any) -> Any:
        for rule in rules:
            converted = rule(value)
            if converted is not NO_FIT:
                return converted
        return NO_FIT

    return convert


def _whole_float(value: float) -> Any:
    return int(value) if value.is_integer() else NO_FIT


def _epoch(value: float) -> Any:
    stamp = _epoch_timestamp(value)
    return NO_FIT if stamp is None else stamp


def _number_text(value: float) -> Any:
    return repr(value)  # the JSON text of the number


def _boolean_text(value: bool) -> Any:
    return "true" if value else "false"


#: Per Python type of a parsed JSON value, the shapes it fits as it is.
_FITS: dict[type, frozenset[Shape]] = {
    bool: frozenset({Shape.BOOLEAN}),
    int: frozenset({Shape.INTEGER, Shape.EPOCH_DAY, Shape.NUMBER}),
    float: frozenset({Shape.NUMBER}),
    str: frozenset({Shape.STRING}),
    dict: frozenset({Shape.OBJECT}),
}


class ScalarFit:
    """How a value (arrays aside) fits a set of scalar shapes, worked out once for the set.

    :attr:`fine` holds the Python types whose values fit as they are; :attr:`converters`
    the converter for each other type that may fit after a conversion. Any other type fits
    not at all. Calling it gives the kept or converted value, or :data:`NO_FIT`.
    """

    def __init__(self, shapes: frozenset[Shape]) -> None:
        """Work out the rules for ``shapes``."""
        fine: set[type] = {type(None)}
        if Shape.ANY in shapes:
            fine.update(_FITS, {list})  # any JSON value
        else:
            fine.update(kind for kind, fits in _FITS.items() if not fits.isdisjoint(shapes))
        self.fine: frozenset[type] = frozenset(fine)
        integral = bool(shapes & {Shape.INTEGER, Shape.EPOCH_DAY})
        candidates: dict[type, list[Converter]] = {
            str: _string_rules(shapes),
            bool: [_boolean_text] if Shape.STRING in shapes else [],
            int: self._number_rules(shapes, integral=False),
            float: self._number_rules(shapes, integral=integral),
        }
        self.converters: dict[type, Converter] = {}
        for kind, rules in candidates.items():
            converter = _first_fit(rules)
            if kind not in self.fine and converter is not None:
                self.converters[kind] = converter

    @staticmethod
    def _number_rules(shapes: frozenset[Shape], *, integral: bool) -> list[Converter]:
        rules: list[Converter] = [_whole_float] if integral else []
        if Shape.DATETIME in shapes:
            rules.append(_epoch)
        if Shape.STRING in shapes:
            rules.append(_number_text)
        return rules

    def __call__(self, value: Any) -> Any:
        """``value`` as it is or converted when it fits, else :data:`NO_FIT`."""
        kind = type(value)
        if kind in self.fine:
            return value
        converter = self.converters.get(kind)
        return NO_FIT if converter is None else converter(value)


class FieldCheck:
    """Checks values of one declared type.

    The hot path (:mod:`tap_planhat.coerce`) needs no call for most values: values of a
    :attr:`fine` type fit as they are, as do strings :attr:`quick_timestamp` matches and lists
    whose items are all of an :attr:`item_fine` type. For any other value, :attr:`fixes`
    holds, per Python type, the one call that keeps, converts or refuses it (a type it lacks
    fits not at all). :meth:`fix` and :meth:`__call__` answer for any value.

    With ``as_text``, a value that fits is returned as its JSON text (for loaders that cannot
    hold a union in one column); then no value is fine as it is but ``None``.
    """

    def __init__(self, field_type: FieldType, *, as_text: bool = False) -> None:
        """Prepare the checks for ``field_type``."""
        self.field_type = field_type
        self.as_text = as_text
        self.scalars = field_type.scalars
        self.items = field_type.items
        scalar = ScalarFit(self.scalars)
        fine = set(scalar.fine)
        fixes = dict(scalar.converters)
        item_fine: frozenset[type] | None = None
        if self.items is not None:
            if Shape.ANY in self.items:
                fine.add(list)
            else:
                item = ScalarFit(self.items)
                item_fine = item.fine
                fixes[list] = _list_fit(item)
        if as_text:
            fixes = {kind: _as_text(fixes.get(kind)) for kind in (*fine, *fixes)}
            fine = {type(None)}
            del fixes[type(None)]
        self.fine: frozenset[type] = frozenset(fine)
        self.fixes: dict[type, Converter] = fixes
        #: Matches most valid timestamps already in the tap's spelling (all but February 29);
        #: others take :attr:`fixes`.
        self.quick_timestamp: Callable[[str], Any] | None = None
        if Shape.DATETIME in self.scalars and not as_text:
            self.quick_timestamp = _QUICK_CANONICAL.fullmatch
        self.item_fine = None if as_text else item_fine

    def fix(self, value: Any) -> Any:
        """``value`` kept or converted when it fits, else :data:`NO_FIT`."""
        kind = type(value)
        if kind in self.fine:
            return value
        fix = self.fixes.get(kind)
        return NO_FIT if fix is None else fix(value)

    def __call__(self, value: Any) -> tuple[bool, Any]:
        """``(True, kept or converted value)``, or ``(False, None)`` when nothing fits."""
        kept = self.fix(value)
        return (False, None) if kept is NO_FIT else (True, kept)


def _list_fit(item: ScalarFit) -> Converter:
    """A list's check: it fits when each item fits ``item``; converted items in a new list."""
    fine = item.fine

    def fit(value: list[Any]) -> Any:
        if fine.issuperset(map(type, value)):  # one C call for the usual list
            return value
        converted: list[Any] | None = None
        for index, element in enumerate(value):
            new = item(element)
            if new is NO_FIT:
                return NO_FIT
            if new is not element:
                if converted is None:
                    converted = list(value)
                converted[index] = new
        return value if converted is None else converted

    return fit


def _as_text(fix: Converter | None) -> Converter:
    """``fix``, then the JSON text of what fits (``fix`` ``None``: every value fits as is)."""

    def text(value: Any) -> Any:
        kept = value if fix is None else fix(value)
        if kept is NO_FIT or kept is None:
            return kept
        return orjson.dumps(kept).decode()

    return text
