"""How a record is keyed: every key rule of the target, in one place.

Planhat matches a record to an existing one by a keyable (``_id``, ``sourceId``, the model's
external id field, ``email`` for endusers); a record that matches none is created
(docs/writes.md, "Keys and matching"). So the key decides whether a rerun duplicates records:

* ``externalId`` names the model's own external id field (``extId`` on invoices), whether it
  is a column, a configured key or a SCHEMA key property (:func:`external_id_as`);
* a stream's key is ``streams.<name>.key``, else the SCHEMA's first key property that names a
  keyable (:func:`stream_key`); a record carrying none of it falls back to the first keyable
  it carries in the registry's order (:func:`choose_key`);
* only ``create_only`` streams and pushes may write keyless records (:func:`creates_keyless`):
  a stream with no key column stops at its SCHEMA (:func:`keyless_problem`), a record with
  empty key columns is rejected (:func:`keyless_record_reason`);
* two records of a batch are one record when they share the key, and the company too when
  the key is an external id, which is unique only per company (:func:`merge_identity`).

Pure: no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import orjson

from target_planhat.mapping.options import MappingOptions, Mode

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from planhat_common.registry import Model

#: ``(keyable, value)``, such as ``("externalId", "A-1")``.
Key = tuple[str, str]
EXTERNAL_ID = "externalId"


class PlannedColumns(Protocol):
    """What :func:`keyless_problem` reads of a stream's planned columns (columns.py)."""

    @property
    def mapping(self) -> MappingOptions:
        """The stream's mapping options, with its key."""
        ...

    @property
    def key_fields(self) -> tuple[str, ...]:
        """Keyable fields some column of the stream provides."""
        ...


def present(value: Any) -> bool:
    """Whether a field holds a value (None, ``""`` and ``[]`` count as absent)."""
    return value is not None and value not in ("", [])


def key_value(value: Any) -> str | None:
    """A field's value as a key value; None when it is absent or an object or array."""
    if not present(value) or isinstance(value, (dict, list)):
        return None
    return str(value)


def external_id_as(model: Model, name: str) -> str:
    """The field ``name`` means for ``model``: ``externalId`` is its own external id field."""
    if name == EXTERNAL_ID and model.external_id_field:
        return model.external_id_field
    return name


def key_column_names(model: Model) -> set[str]:
    """Field names a column may hold a key of ``model`` under."""
    names = set(model.keyables)
    if model.external_id_field:
        names.add(EXTERNAL_ID)  # sent as the model's own external id field
    return names


def keyable_field(model: Model, name: str) -> str | None:
    """The keyable of ``model`` a field name holds, or None when it holds none."""
    name = external_id_as(model, name)
    return name if name in model.keyables else None


def resolve_key_field(model: Model, key: str | None) -> str | None:
    """Check a configured key (``streams.<name>.key``) against the model.

    Raises:
        ValueError: the key is no keyable of the model.
    """
    if key is None:
        return None
    keyable = keyable_field(model, key)
    if keyable is None:
        keyables = ", ".join(model.keyables) or "(none)"
        msg = f"key '{key}' is not a keyable of {model.planhat_name}; use one of: {keyables}."
        raise ValueError(msg)
    return keyable


def key_columns(
    model: Model, field_of: Callable[[str], str], columns: Iterable[str]
) -> tuple[tuple[str, str], ...]:
    """``(column, keyable)`` for every column holding a keyable; ``field_of`` names its field."""
    return tuple(
        (column, keyable)
        for column in dict.fromkeys(columns)
        if (keyable := keyable_field(model, field_of(column)))
    )


def stream_key(
    model: Model,
    configured: str | None,
    field_of: Callable[[str], str],
    key_properties: Iterable[str],
) -> str | None:
    """The stream's key: the configured one, else the first key property naming a keyable."""
    if configured is not None:
        return configured
    declared = (keyable_field(model, field_of(name)) for name in key_properties)
    return next((keyable for keyable in declared if keyable), None)


def choose_key(payload: Mapping[str, Any], model: Model, key: str | None) -> Key | None:
    """The ``(field, value)`` a payload is keyed by, or None when it carries no key.

    A configured ``key`` comes first; a record without it falls back to the model's keyables
    in registry order, as Planhat itself would match it.
    """
    candidates: Sequence[str] = (key, *model.keyables) if key else model.keyables
    for name in candidates:
        value = key_value(payload.get(name))
        if value is not None:
            return name, value
    return None


def creates_keyless(mode: Mode, *, push: bool) -> bool:
    """Whether a stream may write records without a key.

    A keyless record is created on every run; only ``create_only`` asks for that. Pushes are
    appends, kept from repeating by the push ledger instead.
    """
    return push or mode is Mode.CREATE_ONLY


def keyless_problem(stream: str, mode: Mode, setup: PlannedColumns) -> str | None:
    """Why a stream's records could not be matched on a rerun, or None when they can."""
    mapping = setup.mapping
    if creates_keyless(mode, push=mapping.push):
        return None
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


def keyless_record_reason(model: Model) -> str:
    """Why a record with no value in any key column is not written."""
    keys = ", ".join(model.keyables)
    return f"no value in any key column ({keys}): not written, as a rerun would create it again"


def merge_identity(
    key: Key | None, payload: Mapping[str, Any], model: Model
) -> tuple[Any, ...] | None:
    """What makes two records in one batch "the same"; None when the record has no key.

    ``externalId`` is unique only per company (docs/planhat-api.md,
    "Keyed access (extid-/srcid-)"), so the company reference is part of the identity when the
    key is the external id of a company-owned model.
    """
    if key is None:
        return None
    field_name, value = key
    if field_name == model.external_id_field and model.company_field:
        company = payload.get(model.company_field)
        return field_name, value, orjson.dumps(company)
    return field_name, value
