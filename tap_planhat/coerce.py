"""Coerce Planhat's occasionally inconsistent values to the declared types.

Planhat sometimes returns a number as a string or a date as an epoch (API reference §15.20).
A value that can be converted without guessing is converted; anything else is kept as it
came, with one warning per stream and field naming an example ``_id``: never a crash, never
a silent loss.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import TYPE_CHECKING, Any

from planhat_common.registry import FieldType

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

LOGGER = logging.getLogger("tap-planhat")
_EPOCH = dt.date(1970, 1, 1)
#: Epoch values above this are milliseconds (year 5138 in seconds).
_MS_THRESHOLD = 1e11


class _UnfitError(ValueError):
    """The value cannot be converted safely."""


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise _UnfitError from None
        if not math.isfinite(number):
            raise _UnfitError  # "NaN", "Infinity", "1e999": JSON has no such number
        return int(number) if number.is_integer() and "." not in value else number
    raise _UnfitError


def _integer(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    raise _UnfitError


def _boolean(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    if isinstance(value, int) and value in {0, 1}:
        return bool(value)
    raise _UnfitError


def _datetime(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > _MS_THRESHOLD else value
        try:
            stamp = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
        except (ValueError, OverflowError, OSError):  # beyond year 9999, or NaN
            raise _UnfitError from None
        return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    raise _UnfitError


def _epoch_day(value: Any) -> Any:
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value[:10])
        except ValueError:
            raise _UnfitError from None
        return (day - _EPOCH).days
    return _integer(value)


def _string(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _UnfitError


def _list(value: Any) -> Any:
    if isinstance(value, (str, int, float)):
        return [value]
    raise _UnfitError


def _user_ref(value: Any) -> Any:
    if isinstance(value, str):
        return {"id": value}
    raise _UnfitError


_EXPECTED: Mapping[FieldType, tuple[type, ...]] = {
    FieldType.STRING: (str,),
    FieldType.NUMBER: (int, float),
    FieldType.INTEGER: (int,),
    FieldType.BOOLEAN: (bool,),
    FieldType.DATETIME: (str,),
    FieldType.EPOCH_DAY: (int,),
    FieldType.STRINGS: (list,),
    FieldType.NUMBERS: (list,),
    FieldType.OBJECT: (dict,),
    FieldType.OBJECTS: (list,),
    FieldType.USER_REF: (dict,),
}
_CONVERT: Mapping[FieldType, Callable[[Any], Any]] = {
    FieldType.STRING: _string,
    FieldType.NUMBER: _number,
    FieldType.INTEGER: _integer,
    FieldType.BOOLEAN: _boolean,
    FieldType.DATETIME: _datetime,
    FieldType.EPOCH_DAY: _epoch_day,
    FieldType.STRINGS: _list,
    FieldType.NUMBERS: _list,
    FieldType.USER_REF: _user_ref,
}


def _fine_types(fields: Mapping[str, FieldType]) -> dict[str, frozenset[type]]:
    """Per field, the exact types accepted as they are (``bool`` is not an ``int`` here)."""
    return {
        name: frozenset({type(None), *_EXPECTED[field_type]}) for name, field_type in fields.items()
    }


class Coercer:
    """Checks and converts the typed fields of one stream's records, in place."""

    def __init__(
        self,
        stream: str,
        fields: Mapping[str, FieldType],
        custom: Mapping[str, FieldType] | None,
    ) -> None:
        """Remember the declared types of top-level and ``custom`` fields."""
        self.stream = stream
        self.fields = dict(fields)
        self.fields.pop("_id", None)
        self.custom = dict(custom or {})
        self._warned: set[str] = set()
        # Per field, the exact Python types that need no look (None included): one set
        # lookup per value on the hot path, done per schema rather than per record.
        self._fine = _fine_types(self.fields)
        self._fine_custom = _fine_types(self.custom)

    def __call__(self, record: dict[str, Any]) -> dict[str, Any]:
        """Coerce ``record`` in place and return it."""
        fine = self._fine
        for name, value in record.items():
            types = fine.get(name)
            if types is not None and type(value) not in types:
                self._coerce_value(record, name, self.fields[name], record, "")
        custom = record.get("custom")
        if self.custom and type(custom) is dict:
            fine = self._fine_custom
            for name, value in custom.items():
                types = fine.get(name)
                if types is not None and type(value) not in types:
                    self._coerce_value(custom, name, self.custom[name], record, "custom.")
        return record

    def _coerce_value(
        self,
        values: dict[str, Any],
        name: str,
        field_type: FieldType,
        record: Mapping[str, Any],
        prefix: str,
    ) -> None:
        """Check one value that is not of an exact expected type; convert it or warn."""
        value = values[name]
        if value is None:
            return
        expected = _EXPECTED[field_type]
        if isinstance(value, expected) and not (isinstance(value, bool) and bool not in expected):
            return  # a subclass of an expected type
        convert = _CONVERT.get(field_type)
        try:
            if convert is None:
                raise _UnfitError  # noqa: TRY301 - same handling as a failed conversion
            values[name] = convert(value)
        except _UnfitError:
            self._warn(prefix + name, field_type, value, record)

    def _warn(
        self, path: str, field_type: FieldType, value: Any, record: Mapping[str, Any]
    ) -> None:
        if path in self._warned:
            return
        self._warned.add(path)
        LOGGER.warning(
            "Stream '%s', record _id=%s, field '%s': expected %s, got %s %.60r; kept as is "
            "(further records with this problem are not logged).",
            self.stream,
            record.get("_id"),
            path,
            field_type.value,
            type(value).__name__,
            value,
        )
