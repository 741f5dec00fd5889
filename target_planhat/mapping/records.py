"""Record building: Singer record in, Planhat payload out, and the batch's merging.

Nothing here does I/O. The sinks call :func:`map_record` once per record and
:func:`merge_duplicates` once per batch; both are easy to test on their own.

Rules (docs/planhat-api.md, "Keyed access (extid-/srcid-)", "Bulk upsert", "Model quirks"):

* Columns spelled otherwise than Planhat's fields (``externalid``, ``EXTERNALID``,
  ``external_id``) are renamed to them (``MappingOptions.renames``, see field_names.py).
* ``_sdc_*`` metadata and ``exclude_properties`` are dropped; ``_sdc_deleted_at`` marks a delete.
* Values tap-planhat rescued (``_rescued_data``, see planhat_common/rescued.py) go back into
  their fields, so a tenant copy carries them over.
* Datetimes become ISO 8601 strings and ``Decimal`` becomes ``int`` or ``float``
  (payloads.py).
* ``companyExternalId`` / ``companySourceId`` become the model's company field
  (``companyId``, ``cId`` on invoices and NPS, ``companyIds`` on issues) as ``extid-<v>`` /
  ``srcid-<v>``; a plain ``companyId`` is used as it is.
* ``externalId`` is sent as the model's own external id field (keys.py).
* ``ownerEmail`` (``<user reference>Email``) is set aside for the sink to resolve to a user
  ``_id``; reference columns (``dealExternalId``) stay in the payload, outside ``custom``,
  until the sink resolves them to ``dealId`` (both in references.py); a stream's defaults
  (``type: note`` for notes) fill fields the record lacks.
* Fields the model does not know go into ``custom`` according to the ``custom_fields`` setting.
* The key is chosen by keys.py: the configured field, else the first keyable the record carries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from planhat_common.rescued import RESCUED, restore
from planhat_common.singer_columns import DELETED_AT, SDC_PREFIX
from target_planhat.mapping.keys import (
    EXTERNAL_ID,
    choose_key,
    external_id_as,
    key_column_names,
    merge_identity,
    present,
)
from target_planhat.mapping.payloads import MappedRecord, json_safe
from target_planhat.mapping.references import take_reference_columns, take_user_emails

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from planhat_common.registry import Model
    from target_planhat.mapping.keys import Key
    from target_planhat.mapping.options import MappingOptions

COMPANY_EXTERNAL_ID = "companyExternalId"
COMPANY_SOURCE_ID = "companySourceId"
CUSTOM = "custom"


class RecordRejectedError(Exception):
    """A record cannot be sent; the message is the dead-letter reason."""


def _company_value(model: Model, value: str) -> Any:
    return [value] if model.company_field == "companyIds" else value


def _map_company(record: dict[str, Any], model: Model) -> None:
    """Turn company references into the model's company field, in place."""
    ext = record.pop(COMPANY_EXTERNAL_ID, None) if model.company_field else None
    src = record.pop(COMPANY_SOURCE_ID, None) if model.company_field else None
    target = model.company_field
    if target is None or present(record.get(target)):
        return
    plain = record.get("companyId")
    if target != "companyId" and present(plain):
        record.pop("companyId")
        record[target] = _company_value(model, str(plain))
    elif present(ext):
        record[target] = _company_value(model, f"extid-{ext}")
    elif present(src):
        record[target] = _company_value(model, f"srcid-{src}")


def _map_external_id(record: dict[str, Any], model: Model) -> None:
    target = external_id_as(model, EXTERNAL_ID)
    if target != EXTERNAL_ID and EXTERNAL_ID in record:
        value = record.pop(EXTERNAL_ID)
        if not present(record.get(target)):
            record[target] = value


def _map_custom(record: dict[str, Any], options: MappingOptions) -> dict[str, Any]:
    model = options.model
    if CUSTOM not in model.fields or options.custom_fields.mode == "off":
        return record
    # A set difference, not a look-up per field: most records carry standard fields only.
    extra = record.keys() - model.fields.keys()
    moving = {n for n in extra if options.custom_fields.goes_to_custom(n)} if extra else set()
    existing = record.get(CUSTOM)
    if not moving:
        if isinstance(existing, dict):
            record[CUSTOM] = dict(existing)
        elif existing is None:
            record.pop(CUSTOM, None)  # never send "custom": null
        return record
    custom: dict[str, Any] = dict(existing) if isinstance(existing, dict) else {}
    payload: dict[str, Any] = {}
    for name, value in record.items():
        if name in moving:
            custom[name] = value
        elif name != CUSTOM:
            payload[name] = value
    payload[CUSTOM] = custom
    return payload


def map_record(record: Mapping[str, Any], options: MappingOptions) -> MappedRecord:
    """Map one Singer record to a Planhat payload.

    Raises:
        RecordRejectedError: the record cannot be sent (the message says why).
    """
    model = options.model
    try:
        safe = json_safe(record)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise RecordRejectedError(f"record cannot be serialised to JSON: {exc}") from exc
    if RESCUED in safe:
        restore(safe)
    deleted = present(safe.get(DELETED_AT))
    for name in [k for k in safe.keys() - model.fields.keys() if k.startswith(SDC_PREFIX)]:
        del safe[name]
    original = safe  # a fresh copy already; ``working`` below is another
    exclude, renames = options.exclude, options.renames
    if renames:
        working = {renames.get(k, k): v for k, v in original.items() if k not in exclude}
        if exclude:  # excluded by Planhat's name as well as by the column's
            working = {k: v for k, v in working.items() if k not in exclude}
    elif exclude:
        working = {k: v for k, v in original.items() if k not in exclude}
    else:
        working = dict(original)
    if options.push:
        return MappedRecord({k: v for k, v in working.items() if v is not None}, original, None)
    for name, value in options.defaults.items():
        working.setdefault(name, value)
    _map_company(working, model)
    _map_external_id(working, model)
    emails = take_user_emails(working, model) if model.user_refs else {}
    references = take_reference_columns(working, model) if model.references else {}
    payload = _map_custom(working, options)
    # Kept in the payload, so the sync ledger sees a record move to another deal.
    payload.update(references)
    key = choose_key(payload, model, options.key)
    return MappedRecord(payload, original, key, deleted, user_emails=emails)


def key_from_columns(record: Mapping[str, Any], options: MappingOptions) -> Key | None:
    """The key ``record`` would be written under, from its key columns alone.

    For a record rejected before it could be mapped (a value failed validation or cannot be
    serialised): its key columns are mapped as :func:`map_record` maps them (renames,
    exclusions, the model's external id field), so a bad value elsewhere in the record does
    not matter, and the key is chosen from them as for any record.
    """
    keyish = key_column_names(options.model)
    columns = {k: v for k, v in record.items() if options.renames.get(k, k) in keyish}
    try:
        return map_record(columns, options).key
    except RecordRejectedError:
        return None


def merge_duplicates(records: Iterable[MappedRecord], model: Model) -> list[MappedRecord]:
    """Merge records sharing a key (later fields win; ``custom`` merged too).

    A delete replaces whatever came before it for the key; a write after a delete replaces
    the delete. Records without a key are kept as they are, in order.
    """
    merged: dict[Any, MappedRecord] = {}
    order: list[Any] = []
    for index, mapped in enumerate(records):
        identity = merge_identity(mapped.key, mapped.payload, model)
        if identity is None:
            identity = ("__nokey__", index)
        previous = merged.get(identity)
        if previous is None:
            merged[identity] = mapped
            order.append(identity)
            continue
        if mapped.deleted or previous.deleted:
            mapped.count += previous.count
            merged[identity] = mapped
            continue
        payload = {**previous.payload, **mapped.payload}
        old_custom, new_custom = previous.payload.get(CUSTOM), mapped.payload.get(CUSTOM)
        if isinstance(old_custom, dict) and isinstance(new_custom, dict):
            payload[CUSTOM] = {**old_custom, **new_custom}
        original = {**previous.original, **mapped.original}
        merged[identity] = MappedRecord(
            payload, original, mapped.key, count=previous.count + mapped.count
        )
    return [merged[identity] for identity in order]
