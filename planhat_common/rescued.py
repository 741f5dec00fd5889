"""Rescued data: values that fit none of their field's declared types, kept beside the record.

The tap never emits a value its SCHEMA does not allow, and never drops one: a value that fits
no declared type (and cannot be converted without loss) is moved into the record's
``_rescued_data`` object, under the same path, and the field itself is set to null. The
object mirrors the record: top-level fields by name, custom fields under ``custom``::

    {"orgLevel": null, "custom": {"Seats": null},
     "_rescued_data": {"orgLevel": "n/a", "custom": {"Seats": "twelve"}}}

target-planhat puts rescued values back (:func:`restore`) before it writes a record, so a
tenant copy carries them over.
"""

from __future__ import annotations

from typing import Any

RESCUED = "_rescued_data"
CUSTOM = "custom"

#: The property every stream declares for rescued values.
RESCUED_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "properties": {},
    "additionalProperties": True,
    "description": "Original values of fields that fit none of their declared types; the "
    "fields themselves are null. Custom fields are under 'custom'.",
}


def restore(record: dict[str, Any]) -> dict[str, Any]:
    """Put rescued values back into ``record`` (in place) and drop ``_rescued_data``."""
    rescued = record.pop(RESCUED, None)
    if not isinstance(rescued, dict):
        return record
    for name, value in rescued.items():
        if name == CUSTOM and isinstance(value, dict):
            custom = record.get(CUSTOM)
            record[CUSTOM] = {**(custom if isinstance(custom, dict) else {}), **value}
        else:
            record[name] = value
    return record
