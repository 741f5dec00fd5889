"""A batch's references by keyable (``dealExternalId``) resolved to Planhat ``_id`` s.

Resolved when the batch is written, after the batches of the models it references
(run_sinks.py writes those first): a deal created earlier in the run is then in Planhat. The
referenced model's keys come from one key scan per run (key_lookups.py); a key missing from
it is looked up again with one fresh scan per batch, for records written since. A reference
that matches nothing rejects its record, with that reason: Planhat would refuse a line item
without its deal (docs/planhat-api.md, "Required fields to create").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from target_planhat.reference_columns import reference_columns

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from planhat_common.registry import Model
    from target_planhat.key_lookups import Key, KeyLookups
    from target_planhat.records import MappedRecord


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
