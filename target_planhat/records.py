"""Pure record mapping: Singer record in, Planhat payload out.

Nothing here does I/O. The sinks call :func:`map_record` once per record and
:func:`merge_duplicates` once per batch; both are easy to test on their own.

Rules (docs/planhat-api.md, "Keyed access (extid-/srcid-)", "Bulk upsert", "Model quirks"):

* Columns spelled otherwise than Planhat's fields (``externalid``, ``EXTERNALID``,
  ``external_id``) are renamed to them (``MappingOptions.renames``, see fieldnames.py).
* ``_sdc_*`` metadata and ``exclude_properties`` are dropped; ``_sdc_deleted_at`` marks a delete.
* Values tap-planhat rescued (``_rescued_data``, see planhat_common/rescued.py) go back into
  their fields, so a tenant copy carries them over.
* Datetimes become ISO 8601 strings and ``Decimal`` becomes ``int`` or ``float``.
* ``companyExternalId`` / ``companySourceId`` become the model's company field
  (``companyId``, ``cId`` on invoices and NPS, ``companyIds`` on issues) as ``extid-<v>`` /
  ``srcid-<v>``; a plain ``companyId`` is used as it is.
* ``externalId`` is renamed to the model's own external id field (``extId`` on invoices).
* ``ownerEmail`` (``<user reference>Email``) is set aside for the sink to resolve to a user
  ``_id``; reference columns (``dealExternalId``, reference_columns.py) stay in the payload,
  outside ``custom``, until the sink resolves them to ``dealId``; a stream's defaults
  (``type: note`` for notes) fill fields the record lacks.
* Fields the model does not know go into ``custom`` according to the ``custom_fields`` setting.
* The key is the configured field, else the first keyable (registry order) the record carries.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from planhat_common.rescued import RESCUED, restore
from planhat_common.singer_columns import DELETED_AT, SDC_PREFIX
from target_planhat.reference_columns import take_reference_columns

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from planhat_common.registry import Model

COMPANY_EXTERNAL_ID = "companyExternalId"
COMPANY_SOURCE_ID = "companySourceId"
CUSTOM = "custom"


class Mode(enum.StrEnum):
    """What a stream may do to Planhat records."""

    UPSERT = "upsert"
    UPDATE_ONLY = "update_only"
    CREATE_ONLY = "create_only"


class RecordRejectedError(Exception):
    """A record cannot be sent; the message is the dead-letter reason."""


@dataclass(frozen=True)
class CustomFieldsPolicy:
    """Where fields the model does not know go.

    ``all``: every unknown field goes into ``custom``. ``off``: sent as they are, top level.
    A list: those fields go into ``custom``; other unknown fields are sent as they are.
    """

    mode: str = "all"
    names: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, value: Any) -> CustomFieldsPolicy:
        """Read the ``custom_fields`` setting: ``"all"``, ``"off"`` or a list of names."""
        if value is None:
            return cls()
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in {"all", "off"}:
                return cls(lowered)
            msg = f"custom_fields must be 'all', 'off' or a list of field names, got '{value}'."
            raise ValueError(msg)
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return cls("list", frozenset(value))
        msg = f"custom_fields must be 'all', 'off' or a list of field names, got {value!r}."
        raise ValueError(msg)

    def goes_to_custom(self, name: str) -> bool:
        """Whether an unknown field ``name`` belongs in ``custom``."""
        if self.mode == "all":
            return True
        if self.mode == "off":
            return False
        return name in self.names


@dataclass(frozen=True)
class MappingOptions:
    """How one stream's records become payloads."""

    model: Model
    key: str | None = None
    custom_fields: CustomFieldsPolicy = field(default_factory=CustomFieldsPolicy)
    exclude: frozenset[str] = frozenset()
    #: Push models (metrics, activities) are sent as they are: no custom mapping, no keys.
    push: bool = False
    #: Input column -> Planhat field name, for columns spelled otherwise (fieldnames.py).
    renames: Mapping[str, str] = field(default_factory=dict)
    #: Fields every record of the stream gets unless it has them (notes: ``type: note``).
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: Fields needed to create a record, besides the model's own (notes: ``companyId``).
    required: tuple[str, ...] = ()


@dataclass
class MappedRecord:
    """A record ready to send, with what the sink needs to track it."""

    payload: dict[str, Any]
    #: The original record, JSON-safe, for the dead letter file.
    original: dict[str, Any]
    #: ``(field, value)`` the record is keyed by, or None (a create).
    key: tuple[str, str] | None
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


def _present(value: Any) -> bool:
    return value is not None and value not in ("", [])


def resolve_key_field(model: Model, key: str | None) -> str | None:
    """Check a configured key against the model; ``externalId`` means its external id field."""
    if key is None:
        return None
    if key == "externalId" and model.external_id_field and key not in model.keyables:
        key = model.external_id_field
    if key not in model.keyables:
        keyables = ", ".join(model.keyables) or "(none)"
        msg = f"key '{key}' is not a keyable of {model.planhat_name}; use one of: {keyables}."
        raise ValueError(msg)
    return key


def choose_key(payload: Mapping[str, Any], model: Model, key: str | None) -> tuple[str, str] | None:
    """The ``(field, value)`` a payload is keyed by, or None when it carries no key.

    A configured ``key`` comes first; a record without it falls back to the model's keyables
    in registry order, as Planhat itself would match it.
    """
    candidates: Sequence[str] = (key, *model.keyables) if key else model.keyables
    for name in candidates:
        value = payload.get(name)
        if _present(value) and not isinstance(value, (dict, list)):
            return name, str(value)
    return None


def _company_value(model: Model, value: str) -> Any:
    return [value] if model.company_field == "companyIds" else value


def _map_company(record: dict[str, Any], model: Model) -> None:
    """Turn company references into the model's company field, in place."""
    ext = record.pop(COMPANY_EXTERNAL_ID, None) if model.company_field else None
    src = record.pop(COMPANY_SOURCE_ID, None) if model.company_field else None
    target = model.company_field
    if target is None or _present(record.get(target)):
        return
    plain = record.get("companyId")
    if target != "companyId" and _present(plain):
        record.pop("companyId")
        record[target] = _company_value(model, str(plain))
    elif _present(ext):
        record[target] = _company_value(model, f"extid-{ext}")
    elif _present(src):
        record[target] = _company_value(model, f"srcid-{src}")


def email_column(user_ref: str) -> str:
    """The column naming a user reference by email: ``owner``/``ownerId`` -> ``ownerEmail``."""
    return user_ref.removesuffix("Id") + "Email"


def _take_user_emails(record: dict[str, Any], model: Model) -> dict[str, str]:
    """Pop ``<ref>Email`` columns; the refs they name, unless given as ids, by field."""
    emails: dict[str, str] = {}
    for ref in model.user_refs:
        email = record.pop(email_column(ref), None)
        if _present(email) and not _present(record.get(ref)):
            emails[ref] = str(email).strip()
    return emails


def put_user_ids(record: MappedRecord, users: Mapping[str, str]) -> str | None:
    """Put team members given by email (``ownerEmail``) in as their ``_id``s.

    ``users``: team members' ``_id`` by lower-cased email. Returns why the record cannot be
    sent (an email no team member has), or None.
    """
    for field_name, email in record.user_emails.items():
        user_id = users.get(email.lower())
        if user_id is None:
            return (
                f"{email_column(field_name)} '{email}' is no team member's email in Planhat "
                f"(for {field_name})"
            )
        record.payload[field_name] = user_id
    return None


def _map_external_id(record: dict[str, Any], model: Model) -> None:
    target = model.external_id_field
    if target and target != "externalId" and "externalId" in record:
        value = record.pop("externalId")
        if not _present(record.get(target)):
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
    deleted = _present(safe.get(DELETED_AT))
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
    emails = _take_user_emails(working, model) if model.user_refs else {}
    references = take_reference_columns(working, model) if model.references else {}
    payload = _map_custom(working, options)
    # Kept in the payload, so the sync ledger sees a record move to another deal.
    payload.update(references)
    key = choose_key(payload, model, options.key)
    return MappedRecord(payload, original, key, deleted, user_emails=emails)


def key_from_columns(record: Mapping[str, Any], options: MappingOptions) -> tuple[str, str] | None:
    """The key ``record`` would be written under, from its key columns alone.

    For a record rejected before it could be mapped (a value failed validation or cannot be
    serialised): the key is chosen exactly as :func:`map_record` chooses it (renames,
    exclusions, the model's external id field), from the columns that can hold a keyable, so
    a bad value elsewhere in the record does not matter.
    """
    model = options.model
    keyish = {*model.keyables, "externalId"}
    columns = {k: v for k, v in record.items() if options.renames.get(k, k) in keyish}
    try:
        return map_record(columns, options).key
    except RecordRejectedError:
        return None


def missing_for_create(
    payload: Mapping[str, Any], model: Model, also: Sequence[str] = ()
) -> list[str]:
    """Fields ``model`` (and ``also``) needs to create a record that ``payload`` lacks."""
    needed = dict.fromkeys((*model.required_for_create, *also))
    return [name for name in needed if not _present(payload.get(name))]


def push_item_problem(payload: Mapping[str, Any], model: Model) -> str | None:
    """Why a metrics or activity item cannot be pushed, or None when it can.

    (docs/planhat-api.md, "Metrics (dimension data)", "User activities")
    """
    if model.name == "user_activities":
        if not any(_present(payload.get(k)) for k in ("email", "externalId", "id")):
            return "user activity needs 'email', 'externalId' or 'id'"
        return None
    missing = missing_for_create(payload, model)
    return f"missing required field(s) {', '.join(missing)}" if missing else None


def merge_identity(mapped: MappedRecord, model: Model) -> tuple[Any, ...] | None:
    """What makes two records in one batch "the same"; None when the record has no key.

    ``externalId`` is unique only per company (docs/planhat-api.md,
    "Keyed access (extid-/srcid-)"), so the company reference is part of the identity when the
    key is the external id of a company-owned model.
    """
    if mapped.key is None:
        return None
    field_name, value = mapped.key
    if field_name == model.external_id_field and model.company_field:
        company = mapped.payload.get(model.company_field)
        return field_name, value, orjson.dumps(company)
    return field_name, value


def merge_duplicates(records: Iterable[MappedRecord], model: Model) -> list[MappedRecord]:
    """Merge records sharing a key (later fields win; ``custom`` merged too).

    A delete replaces whatever came before it for the key; a write after a delete replaces
    the delete. Records without a key are kept as they are, in order.
    """
    merged: dict[Any, MappedRecord] = {}
    order: list[Any] = []
    for index, mapped in enumerate(records):
        identity = merge_identity(mapped, model)
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
