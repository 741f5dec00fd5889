"""A record ready to send (:class:`MappedRecord`), and how values are encoded as JSON.

Planhat receives JSON: datetimes as ISO 8601 strings, ``Decimal`` as ``int`` or ``float``
(:func:`dumps`). The run's JSON Lines files (outcomes/files.py) are written the same way.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from collections.abc import Mapping

    from target_planhat.mapping.keys import Key


@dataclass
class MappedRecord:
    """A record ready to send, with what the sink needs to track it."""

    payload: dict[str, Any]
    #: The original record, JSON-safe, for the dead letter file.
    original: dict[str, Any]
    #: ``(field, value)`` the record is keyed by (keys.py), or None (a create).
    key: Key | None
    deleted: bool = False
    #: How many input records this one stands for after in-batch merging.
    count: int = 1
    #: ``payload`` as JSON, once encoded.
    encoded: bytes | None = None
    #: ``(identity digest, payload digest)`` in the sync ledger, once looked up.
    ledger_entry: tuple[int, int] | None = None
    #: User references given by email, ``field -> email``, for the sink to resolve.
    user_emails: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        """``payload`` as JSON (encoded once; the payload must not change afterwards)."""
        if self.encoded is None:
            self.encoded = dumps(self.payload)
        return self.encoded

    @property
    def key_label(self) -> str:
        """``field=value`` for logs and the dead letter, or ``(no key)``."""
        return f"{self.key[0]}={self.key[1]}" if self.key else "(no key)"


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return decimal_to_number(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def decimal_to_number(value: decimal.Decimal) -> int | float | None:
    """``Decimal`` as ``int`` when whole, else ``float``; NaN and infinities become None."""
    if not value.is_finite():
        return None
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None


def dumps(value: Any) -> bytes:
    """Serialise to JSON bytes: datetimes as ISO strings, Decimals as numbers."""
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)


def json_safe(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` holding only JSON types (what the API will see)."""
    result: dict[str, Any] = orjson.loads(dumps(record))
    return result
