"""JSON schemas for the tap's streams, built from the registry and Planhat's custom fields.

A field's declared type may be a union (docs/field-types.md): the schema lists every JSON
type it allows, so a field Planhat sends as a string or an object is ``["string", "object",
"null"]``, which most loaders store as a JSON/VARIANT column.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planhat_common.fieldtypes import DT, S, Shape
from planhat_common.registry import CUSTOM_FIELD_TYPES
from planhat_common.rescued import CUSTOM, RESCUED, RESCUED_SCHEMA
from planhat_common.singer_columns import DELETED_AT

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from planhat_common.fieldtypes import FieldType
    from planhat_common.registry import Model

#: JSON types in the order schemas list them.
_ORDER = ("string", "number", "integer", "boolean", "object", "array")
_JSON_TYPES: Mapping[Shape, tuple[str, ...]] = {
    Shape.STRING: ("string",),
    Shape.DATETIME: ("string",),
    Shape.NUMBER: ("number",),
    Shape.INTEGER: ("integer",),
    Shape.EPOCH_DAY: ("integer",),
    Shape.BOOLEAN: ("boolean",),
    Shape.OBJECT: ("object",),
    Shape.ANY: ("string", "number", "boolean", "object", "array"),
}
_EPOCH_DAY_NOTE = "Whole days since 1970-01-01 (Planhat epoch day)."


def _schema(shapes: frozenset[Shape], items: frozenset[Shape] | None) -> dict[str, Any]:
    names = {name for shape in shapes for name in _JSON_TYPES[shape]}
    if items is not None:
        names.add("array")
    schema: dict[str, Any] = {"type": [*(n for n in _ORDER if n in names), "null"]}
    if items is not None and Shape.ANY not in items:
        # Items of any type get no "items" at all: loaders then keep the array whole (JSONB
        # in target-postgres) instead of a typed array, which cannot hold nested arrays.
        schema["items"] = _schema(items, None)
    if Shape.DATETIME in shapes:
        schema["format"] = "date-time"
    if Shape.EPOCH_DAY in shapes:
        schema["description"] = _EPOCH_DAY_NOTE
    if "object" in names:
        # "properties" is kept even when empty: the SDK's conformance indexes it.
        schema["properties"] = {}
        schema["additionalProperties"] = True
    return schema


def property_schema(field_type: FieldType) -> dict[str, Any]:
    """The JSON schema of one value of ``field_type`` (always nullable: lists may omit it)."""
    return _schema(field_type.scalars, field_type.items)


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
            fields[name] = CUSTOM_FIELD_TYPES.get(planhat_type, S)
    return fields


def union_text_schema(field_type: FieldType) -> dict[str, Any]:
    """The schema of a union-typed field emitted as JSON text (``unions_as_json_text``)."""
    return {
        "type": ["string", "null"],
        "description": f"JSON text of the value, which may be any of: {field_type}.",
    }


def stream_schema(
    model: Model,
    custom: Mapping[str, FieldType] | None,
    *,
    deletions: bool = False,
    unions_as_text: bool = False,
) -> dict[str, Any]:
    """The stream schema: standard fields typed, ``custom`` typed when definitions are known.

    Both levels stay open (``additionalProperties``) so fields Planhat adds are kept. Every
    stream declares ``_rescued_data`` (see planhat_common/rescued.py). With ``deletions``,
    full-table streams also carry ``_sdc_deleted_at`` (see deletes.py). With
    ``unions_as_text``, union-typed fields are strings holding JSON text.
    """
    properties = {
        name: union_text_schema(ftype)
        if unions_as_text and ftype.is_union
        else property_schema(ftype)
        for name, ftype in model.fields.items()
    }
    properties["_id"] = {"type": "string"}
    if custom:
        # The tenant's own definitions show the model has custom fields, whatever the
        # public sources say.
        properties[CUSTOM] = {
            "type": ["object", "null"],
            "properties": {name: property_schema(ftype) for name, ftype in custom.items()},
            "additionalProperties": True,
        }
    properties[RESCUED] = dict(RESCUED_SCHEMA)
    if deletions and not model.replication_key:
        properties[DELETED_AT] = property_schema(DT)
    return {"type": "object", "properties": properties, "additionalProperties": True}
