"""A stream's columns, worked out once at its SCHEMA message.

Which Planhat field each column names, the stream's key, and whether its records can be
matched on a rerun at all. Pure: the sink passes in the route, the SCHEMA's properties and
key properties, and the tenant's custom field names; it gets back the mapping options its
records are mapped with.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from target_planhat.fieldnames import ColumnClashError, ColumnMap, map_columns
from target_planhat.records import (
    COMPANY_EXTERNAL_ID,
    COMPANY_SOURCE_ID,
    MappingOptions,
    Mode,
    email_column,
    key_from_columns,
)
from target_planhat.reference_columns import reference_columns

if TYPE_CHECKING:
    import logging
    from collections.abc import Iterable, Mapping, Sequence

    from planhat_common.registry import Model

#: Columns the target turns into other fields (company references), matched like fields.
REFERENCE_COLUMNS = (COMPANY_EXTERNAL_ID, COMPANY_SOURCE_ID)
EXTERNAL_ID = "externalId"


@dataclass(frozen=True)
class StreamColumns:
    """How one stream's records are mapped, and which keyable fields its columns carry."""

    mapping: MappingOptions
    columns: ColumnMap
    #: Keyable fields (Planhat's names) some column of the stream provides.
    key_fields: tuple[str, ...]
    #: ``(column, keyable field)`` for every column holding a keyable.
    key_columns: tuple[tuple[str, str], ...]


def accepted_names(model: Model) -> set[str]:
    """Field names an input column may be matched to for ``model``."""
    names = {
        *model.fields,
        *REFERENCE_COLUMNS,
        *(email_column(r) for r in model.user_refs),
        *reference_columns(model),
    }
    if model.external_id_field:
        names.add(EXTERNAL_ID)  # sent as the model's own external id field (extId)
    return names


def _keyable(model: Model, field: str) -> str | None:
    if field == EXTERNAL_ID and model.external_id_field:
        field = model.external_id_field
    return field if field in model.keyables else None


def stream_columns(
    mapping: MappingOptions,
    properties: Iterable[str],
    key_properties: Sequence[str],
    custom_names: Iterable[str] | None,
) -> StreamColumns:
    """Columns -> fields; the SCHEMA's key properties as the key when they name a keyable.

    Raises:
        fieldnames.ColumnClashError: two columns name the same field.
    """
    model = mapping.model
    properties = list(properties)
    custom = custom_names if "custom" in model.fields and not mapping.push else None
    columns = map_columns(properties, accepted_names(model), custom)
    key_columns = tuple(
        (column, keyable)
        for column in dict.fromkeys([*properties, *key_properties])
        if (keyable := _keyable(model, columns.field_of(column)))
    )
    key_fields = tuple(dict.fromkeys(keyable for _column, keyable in key_columns))
    key = mapping.key
    if key is None and not mapping.push:
        declared = (_keyable(model, columns.field_of(k)) for k in key_properties)
        key = next((k for k in declared if k), None)
    mapped = replace(mapping, renames=columns.renames, key=key)
    return StreamColumns(mapped, columns, key_fields, key_columns)


def unmapped_record_key(
    record: Mapping[str, Any],
    setup: StreamColumns | None,
    mapping: MappingOptions,
    key_properties: Sequence[str],
) -> tuple[str, str] | None:
    """The key a record rejected before mapping would have been written under.

    ``setup`` None: the stream's columns are not planned yet (its SCHEMA lists no properties
    and no record was mapped); they are matched from the record's own columns, as they would
    be for a record that passes.
    """
    if setup is None:
        try:
            setup = stream_columns(mapping, list(record), key_properties, None)
        except ColumnClashError:
            return None
    return key_from_columns(record, setup.mapping)


def keyless_problem(stream: str, mode: Mode, setup: StreamColumns) -> str | None:
    """Why a stream's records could not be matched on a rerun, or None when they can."""
    mapping = setup.mapping
    if mapping.push or mode is Mode.CREATE_ONLY:
        return None  # pushes are appends (push ledger); create_only asks to create
    keyables = ", ".join(mapping.model.keyables) or "(none)"
    if mapping.key is not None and mapping.key not in setup.key_fields:
        return (
            f"Stream '{stream}': its key is '{mapping.key}' but no column of the stream holds "
            f"it. Add that column, or choose another key ({keyables}) with streams.{stream}.key."
        )
    if setup.key_fields:
        return None
    return (
        f"Stream '{stream}' has no column {mapping.model.planhat_name} records can be matched "
        f"by ({keyables}; any case or snake_case): every run would create them again. Add such "
        f"a column (a stream map can derive one), or set streams.{stream}.mode to create_only "
        "if creating the records on every run is intended."
    )


def needs_custom_names(mapping: MappingOptions, columns: Iterable[str]) -> bool:
    """Whether some column would go into ``custom`` (so custom field names matter)."""
    if "custom" not in mapping.model.fields or mapping.push:
        return False
    standard = map_columns(columns, accepted_names(mapping.model))
    known = {*mapping.model.fields, *standard.standard}
    return any(c not in known and not c.startswith("_") for c in columns)


def log_column_matches(logger: logging.Logger, stream: str, setup: StreamColumns) -> None:
    """Say, once per stream, which columns were matched to fields under other spellings."""
    columns = setup.columns
    if columns.standard:
        pairs = ", ".join(f"{c} -> {f}" for c, f in columns.standard.items())
        logger.info("Stream '%s': columns matched to Planhat fields: %s", stream, pairs)
    if columns.custom:
        pairs = ", ".join(f"{c} -> {f}" for c, f in columns.custom.items())
        logger.info("Stream '%s': columns matched to custom fields: %s", stream, pairs)
    if columns.undefined_custom:
        logger.info(
            "Stream '%s': no %s custom field is defined for these columns; they are sent into "
            "`custom` under their own names: %s",
            stream,
            setup.mapping.model.planhat_name,
            ", ".join(columns.undefined_custom),
        )
