"""Which record a bulk upsert created, updated, left unchanged or rejected, and its ``_id``.

Planhat's bulk answer (docs/writes.md, "What a bulk upsert answers") lists, per record it
wrote, an ``insertsKeys`` or ``updatesKeys`` entry with the new ``_id`` and the keyables sent;
errors name keyables (or nothing); ``nonupdates`` is only a count. So, per record:

* **rejected**: an error matched to it (dead-lettered with the reason);
* **created** / **updated**, with ``_id``: a keys entry sharing its key values;
* otherwise derived: when what is left over all falls in one category (all the unmatched
  entries are inserts, or the left-over count equals ``nonupdates``, or, in an answer with no
  keys entries at all, ``created`` or ``updated``), that category, and the ``_id`` of a
  left-over entry if only one is left, or the record's own ``_id`` key; an ``_id`` still
  missing is looked up by key at the run's end (late_ids.py);
* **written**: Planhat confirmed the record without saying how (an entry with only ``_id``
  among several records);
* **unknown**: Planhat reported errors for the chunk that name no record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from target_planhat.outcomes.bulk_answers import entry_values, record_values

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from target_planhat.mapping.payloads import MappedRecord
    from target_planhat.outcomes.bulk_answers import BulkOutcome


@dataclass(frozen=True)
class RecordResult:
    """What happened to one record."""

    record: MappedRecord
    outcome: str
    planhat_id: str | None = None
    reason: str | None = None

    @property
    def known_id(self) -> str | None:
        """Planhat's ``_id`` of the record: the one the answer gave, else its own ``_id`` key."""
        if self.planhat_id:
            return self.planhat_id
        own = self.record.payload.get("_id")
        return own if isinstance(own, str) and own else None


def _matches(entry: Mapping[str, Any], values: dict[str, str]) -> bool:
    wanted = {k: v for k, v in entry_values(entry).items() if k != "_id" or "_id" in values}
    shared = [name for name in wanted if name in values]
    return bool(shared) and all(values[name] == wanted[name] for name in shared)


def _take(entries: list[dict[str, Any]], values: dict[str, str]) -> dict[str, Any] | None:
    for position, entry in enumerate(entries):
        if _matches(entry, values):
            return entries.pop(position)
    return None


def attribute(
    chunk: Sequence[MappedRecord],
    outcome: BulkOutcome,
    rejected: Mapping[int, list[str]],
    unmatched_errors: int,
    known_id: Callable[[MappedRecord], str | None],
) -> list[RecordResult]:
    """One result per record of ``chunk`` (see the module docstring for the rules)."""
    inserts, updates = list(outcome.inserts), list(outcome.updates)
    results: dict[int, RecordResult] = {}
    left: list[int] = []
    for index, record in enumerate(chunk):
        if index in rejected:
            results[index] = RecordResult(record, "rejected", reason="; ".join(rejected[index]))
            continue
        values = record_values(record)
        for kind, entries in (("created", inserts), ("updated", updates)):
            entry = _take(entries, values)
            if entry is not None:
                results[index] = RecordResult(record, kind, _id_of(entry))
                break
        else:
            left.append(index)
    kind, why = _left_over_kind(len(left), inserts, updates, outcome, unmatched_errors)
    for index in left:
        record = chunk[index]
        planhat_id = known_id(record)
        entries = inserts or updates
        if planhat_id is None and len(left) == 1 and len(entries) == 1:
            planhat_id = _id_of(entries[0])
        results[index] = RecordResult(record, kind, planhat_id, why)
    return [results[i] for i in range(len(chunk))]


def _left_over_kind(
    count: int,
    inserts: list[Any],
    updates: list[Any],
    outcome: BulkOutcome,
    unmatched_errors: int,
) -> tuple[str, str | None]:
    if not count:
        return "written", None
    if unmatched_errors:
        return "unknown", (
            f"Planhat reported {unmatched_errors} error(s) for this batch without naming "
            "records (see the dead letter file)"
        )
    # Entries left over say which: each stands for one record Planhat wrote. With no
    # entries in the answer at all, its counts are all there is.
    answer_lists = bool(outcome.inserts or outcome.updates)
    created = len(inserts) if answer_lists else outcome.created
    updated = len(updates) if answer_lists else outcome.updated
    if created == count and not updated:
        return "created", None
    if updated == count and not created:
        return "updated", None
    if outcome.unchanged == count and not inserts and not updates:
        return "unchanged", None
    return "written", "Planhat confirmed it without saying whether it was created or updated"


def _id_of(entry: Mapping[str, Any]) -> str | None:
    value = entry.get("_id")
    return value if isinstance(value, str) else None
