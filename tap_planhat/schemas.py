"""JSON schemas for the tap's streams, built from the registry and Planhat's custom fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planhat_common.registry import CUSTOM_FIELD_TYPES, FieldType
from tap_planhat.deletes import DELETED_AT

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from planhat_common.registry import Model

_SCALARS: Mapping[FieldType, dict[str, Any]] = {
    FieldType.STRING: {"type": ["string", "null"]},
    FieldType.NUMBER: {"type": ["number", "null"]},
    FieldType.INTEGER: {"type": ["integer", "null"]},
    FieldType.BOOLEAN: {"type": ["boolean", "null"]},
    FieldType.DATETIME: {"type": ["string", "null"], "format": "date-time"},
    FieldType.EPOCH_DAY: {
        "type": ["integer", "null"],
        "description": "Whole days since 1970-01-01 (Planhat epoch day).",
    },
    # "properties" is kept even when empty: the SDK's conformance indexes it.
    FieldType.OBJECT: {"type": ["object", "null"], "properties": {}, "additionalProperties": True},
    # Lists return {id, nickName}, get-by-id a bare id; the tap emits the object form.
    FieldType.USER_REF: {
        "type": ["object", "null"],
        "properties": {"id": {"type": ["string", "null"]}},
        "additionalProperties": True,
    },
}
_ITEMS: Mapping[FieldType, dict[str, Any]] = {
    FieldType.STRINGS: {"type": ["string", "null"]},
    FieldType.NUMBERS: {"type": ["number", "null"]},
    FieldType.OBJECTS: {"type": ["object", "null"], "properties": {}, "additionalProperties": True},
}


def property_schema(field_type: FieldType) -> dict[str, Any]:
    """The JSON schema of one value of ``field_type`` (always nullable: lists may omit it)."""
    if field_type in _ITEMS:
        return {"type": ["array", "null"], "items": dict(_ITEMS[field_type])}
    return dict(_SCALARS[field_type])


def custom_field_types(
    definitions: Iterable[Mapping[str, Any]], model: Model
) -> dict[str, FieldType]:
    """Custom fields of ``model`` from ``/customfields`` records, by name.

    Unknown Planhat types become strings rather than being dropped, so a new custom field
    type never loses data.
    """
    fields: dict[str, FieldType] = {}
    for definition in definitions:
        if str(definition.get("parent", "")).lower() != model.planhat_name.lower():
            continue
        name = definition.get("name")
        if isinstance(name, str) and name:
            planhat_type = str(definition.get("type", "")).lower()
            fields[name] = CUSTOM_FIELD_TYPES.get(planhat_type, FieldType.STRING)
    return fields


def stream_schema(
    model: Model, custom: Mapping[str, FieldType] | None, *, deletions: bool = False
) -> dict[str, Any]:
    """The stream schema: standard fields typed, ``custom`` typed when definitions are known.

    Both levels stay open (``additionalProperties``) so fields Planhat adds are kept. With
    ``deletions``, full-table streams also carry ``_sdc_deleted_at`` (see deletes.py).
    """
    properties = {name: property_schema(ftype) for name, ftype in model.fields.items()}
    properties["_id"] = {"type": "string"}
    if "custom" in properties and custom:
        properties["custom"] = {
            "type": ["object", "null"],
            "properties": {name: property_schema(ftype) for name, ftype in custom.items()},
            "additionalProperties": True,
        }
    if deletions and not model.replication_key:
        properties[DELETED_AT] = property_schema(FieldType.DATETIME)
    return {"type": "object", "properties": properties, "additionalProperties": True}
