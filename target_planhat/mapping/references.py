"""Columns naming another record, and their resolution to the ``_id`` Planhat takes.

Two kinds, both set aside while a record is mapped (records.py) and resolved by the sink:

* **People by email.** ``owner``, ``coOwner`` and ``ownerId`` (``Model.user_refs``) may be
  given as ``ownerEmail``, ``coOwnerEmail``: one listing of team members per run (lookups.py)
  resolves them; an email no team member has rejects the record with that reason.
* **Records by their own keys.** A warehouse knows a line item's deal by the deal's own id
  (its ``externalId`` or ``sourceId`` in Planhat), not by Planhat's ``_id``. For each
  reference of a model (``Model.references``: ``dealId`` -> deals) the target accepts a column
  per keyable of the referenced model: ``dealExternalId``, ``dealSourceId`` (in any warehouse
  spelling, see field_names.py). Planhat documents the ``extid-``/``srcid-`` prefixes for
  company references only (docs/writes.md), so such a column is resolved to the ``_id``
  through a key scan when the batch is written, never sent as a prefix.

References resolve after the batches of the models they reference (sinks/registry.py writes
those first): a deal created earlier in the run is then in Planhat. The referenced model's
keys come from one key scan per run; a key missing from it is looked up again with one fresh
scan per batch, for records written since. A reference that matches nothing rejects its
record, with that reason: Planhat would refuse a line item without its deal
(docs/planhat-api.md, "Required fields to create").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from planhat_common.registry import get_model
from target_planhat.mapping.keys import present

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from planhat_common.registry import Model
    from target_planhat.lookups import KeyLookups
    from target_planhat.mapping.keys import Key
    from target_planhat.mapping.payloads import MappedRecord


def email_column(user_ref: str) -> str:
    """The column naming a user reference by email: ``owner``/``ownerId`` -> ``ownerEmail``."""
    return user_ref.removesuffix("Id") + "Email"


def take_user_emails(record: dict[str, Any], model: Model) -> dict[str, str]:
    """Pop ``<ref>Email`` columns; the refs they name, unless given as ids, by field."""
    emails: dict[str, str] = {}
    for ref in model.user_refs:
        email = record.pop(email_column(ref), None)
        if present(email) and not present(record.get(ref)):
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


@dataclass(frozen=True)
class ReferenceColumn:
    """A column naming another record: which field it fills, from which model's keyable."""

    column: str
    #: The field Planhat takes (``dealId``).
    field: str
    #: The model the column names a record of.
    target: Model
    #: The target's keyable the column holds (``externalId``).
    keyable: str


@cache
def reference_columns(model: Model) -> Mapping[str, ReferenceColumn]:
    """Column name -> what it references, for every reference of ``model``."""
    columns: dict[str, ReferenceColumn] = {}
    for field_name, target_name in model.references:
        target = get_model(target_name)
        prefix = field_name.removesuffix("Id")
        for keyable in target.keyables:
            if keyable != "_id":
                column = prefix + keyable[0].upper() + keyable[1:]
                columns[column] = ReferenceColumn(column, field_name, target, keyable)
    return columns


def take_reference_columns(record: dict[str, Any], model: Model) -> dict[str, Any]:
    """Pop the reference columns with a value; a reference given as ``_id`` keeps only that."""
    taken: dict[str, Any] = {}
    for column, reference in reference_columns(model).items():
        value = record.pop(column, None)
        if value in (None, "") or record.get(reference.field) not in (None, ""):
            continue
        taken[column] = value
    return taken


class ReferenceResolver:
    """Resolves one stream's reference columns to the ``_id`` fields Planhat takes."""

    def __init__(
        self,
        model: Model,
        lookups: KeyLookups,
        on_page: Callable[[], None],
        reject: Callable[[MappedRecord, str], None],
    ) -> None:
        """Resolve references of ``model``'s records; ``reject`` dead-letters a record."""
        self._columns = reference_columns(model)
        self._lookups = lookups
        self._on_page = on_page
        self._reject = reject

    def resolve(self, records: list[MappedRecord]) -> list[MappedRecord]:
        """The records whose references all resolved (now as ``_id`` s); the others rejected."""
        if not self._columns:
            return records
        refreshed: set[str] = set()
        kept = []
        for record in records:
            problem = self._resolve_one(record, refreshed)
            if problem:
                self._reject(record, problem)
            else:
                kept.append(record)
        return kept

    def _resolve_one(self, record: MappedRecord, refreshed: set[str]) -> str | None:
        payload = record.payload
        if not any(column in payload for column in self._columns):
            return None
        record.encoded = None  # the payload changes below
        for column, reference in self._columns.items():
            value = payload.pop(column, None)
            if value is None or payload.get(reference.field) not in (None, ""):
                continue
            record_id = self._find(reference.target, (reference.keyable, str(value)), refreshed)
            if not record_id:
                return (
                    f"{column} '{value}' matches no {reference.target.planhat_name} in Planhat "
                    f"(by {reference.keyable}), so {reference.field} is unknown"
                )
            payload[reference.field] = record_id
        return None

    def _find(self, target: Model, key: Key, refreshed: set[str]) -> str | None:
        index: Mapping[Key, str] = self._lookups.key_index(target, self._on_page)
        if not index.get(key) and target.name not in refreshed:
            refreshed.add(target.name)
            index = self._lookups.fresh_key_index(target, self._on_page)
        return index.get(key) or None
