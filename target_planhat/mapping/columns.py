"""A stream's columns, worked out once at its SCHEMA message.

Which Planhat field each column names, which columns hold a key, and whether its records can
be matched on a rerun at all (the key rules are keys.py's). The sink passes in the route's
mapping options, the SCHEMA's properties and key properties, and a way to read the tenant's
custom field names; it gets back the mapping options its records are mapped with.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from target_planhat.errors import StreamSetupError
from target_planhat.mapping.field_names import ColumnClashError, ColumnMap, map_columns
from target_planhat.mapping.keys import key_column_names, key_columns, keyless_problem, stream_key
from target_planhat.mapping.records import COMPANY_EXTERNAL_ID, COMPANY_SOURCE_ID, key_from_columns
from target_planhat.mapping.references import email_column, reference_columns

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from planhat_common.registry import Model
    from target_planhat.mapping.keys import Key
    from target_planhat.mapping.options import MappingOptions
    from target_planhat.mapping.routing import Route

#: Columns the target turns into other fields (company references), matched like fields.
REFERENCE_COLUMNS = (COMPANY_EXTERNAL_ID, COMPANY_SOURCE_ID)


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
    return {
        *model.fields,
        *key_column_names(model),
        *REFERENCE_COLUMNS,
        *(email_column(r) for r in model.user_refs),
        *reference_columns(model),
    }


def stream_columns(
    mapping: MappingOptions,
    properties: Iterable[str],
    key_properties: Sequence[str],
    custom_names: Iterable[str] | None,
) -> StreamColumns:
    """Columns -> fields; the SCHEMA's key properties as the key when they name a keyable.

    Raises:
        field_names.ColumnClashError: two columns name the same field.
    """
    model = mapping.model
    properties = list(properties)
    custom = custom_names if "custom" in model.fields and not mapping.push else None
    columns = map_columns(properties, accepted_names(model), custom)
    keyed = key_columns(model, columns.field_of, [*properties, *key_properties])
    key_fields = tuple(dict.fromkeys(keyable for _column, keyable in keyed))
    key = mapping.key
    if not mapping.push:
        key = stream_key(model, key, columns.field_of, key_properties)
    mapped = replace(mapping, renames=columns.renames, key=key)
    return StreamColumns(mapped, columns, key_fields, keyed)


def plan_stream(
    route: Route,
    columns: list[str],
    key_properties: Sequence[str],
    custom_names: Callable[[], list[str] | None],
) -> StreamColumns:
    """A stream's columns, or why it cannot be written.

    ``custom_names`` reads the tenant's custom field names, only when some column needs them.

    Raises:
        StreamSetupError: two columns name one field, or no column can key the records.
    """
    stream, mapping = route.stream, route.mapping
    try:
        custom = custom_names() if needs_custom_names(mapping, columns) else None
        planned = stream_columns(mapping, columns, key_properties, custom)
    except ColumnClashError as exc:
        raise StreamSetupError(f"Stream '{stream}': {exc}") from exc
    problem = keyless_problem(stream, route.mode, planned)
    if problem:
        raise StreamSetupError(problem)
    return planned


def unmapped_record_key(
    record: Mapping[str, Any],
    setup: StreamColumns | None,
    mapping: MappingOptions,
    key_properties: Sequence[str],
) -> Key | None:
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
