"""Planhat ids of written records the bulk answer did not give, looked up by key at the run's end.

A bulk answer's ``insertsKeys``/``updatesKeys`` entries may carry the keyables sent (then
attribution.py finds each record's ``_id``), only ``_id``, or be missing altogether
(docs/writes.md, "Planhat ids when the answer has no keys"). In the last two shapes a
created, updated or written record whose ``_id`` the run does not know otherwise is held here
instead of being reported at once:

* At the run's end, once every write is done, each model with held records is listed once
  (``select=_id,<keyables>``, the key scan of lookups.py, counted in the calls of the stream
  that held first). A scan made earlier in the run answers records that existed before it, so
  when it already knows every held key there is no listing at all; records created after it
  are why the listing waits until the writes are over, and why it replaces that scan.
* Each held record then takes the normal path (StreamOutcomes.settle): its results line, with
  the ``_id`` found, and its sync ledger entry with that ``_id``. A record whose key the
  listing lacks (or that has no key) keeps its outcome, with ``planhat_id`` null and a reason.
* The ledger entry waits too: remembered without its ``_id``, the record would be left out as
  unchanged by later runs with no ``_id`` to report. A run that dies first loses only the
  wait: the records are sent again and matched by key, never created twice.

What is held is a record's key, outcome, reason and ledger digests, not its payload.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, NamedTuple, Protocol

from planhat_common.errors import PlanhatError
from target_planhat.mapping.payloads import MappedRecord
from target_planhat.outcomes.attribution import RecordResult

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Mapping, Sequence

    from planhat_common.registry import Model
    from target_planhat.lookups import KeyLookups
    from target_planhat.mapping.keys import Key
    from target_planhat.outcomes.bulk_answers import BulkOutcome
    from target_planhat.outcomes.counts import Counts

#: Outcomes of records Planhat wrote, which therefore have an ``_id`` to find.
WRITTEN = frozenset({"created", "updated", "written"})


class Reports(Protocol):
    """Where held records are reported: the stream's StreamOutcomes."""

    def settle(
        self,
        results: Sequence[RecordResult],
        *,
        counts: Counts | None = None,
        confirmed: bool = False,
    ) -> None:
        """Count, dead-letter, remember and report what became of some records."""


class Held(NamedTuple):
    """A written record waiting for its ``_id``: only what its report needs."""

    key: Key | None
    outcome: str
    reason: str | None
    ledger_entry: tuple[int, int] | None
    records: int
    #: Ids the answer listed as inserted and as updated without keys (to tell a "written"
    #: record's outcome once its ``_id`` is known).
    inserted: frozenset[str]
    updated: frozenset[str]


class _ModelHeld:
    """One model's held records, by where they are reported and whether the ledger may keep them."""

    def __init__(self, model: Model, on_page: Callable[[], None]) -> None:
        self.model = model
        #: The calls of the listing count for the stream that held first.
        self.on_page = on_page
        self.records: dict[tuple[Reports, bool], list[Held]] = {}


class LateIds:
    """Holds written records without an ``_id`` and resolves them by key once per model."""

    def __init__(self, lookups: KeyLookups, logger: logging.Logger) -> None:
        """Nothing held yet; ``lookups`` lists (and may already have listed) each model."""
        self._lookups = lookups
        self._logger = logger
        # Held from the writer thread, resolved from the main one once writing stopped.
        self._lock = threading.Lock()
        self._models: dict[str, _ModelHeld] = {}

    @staticmethod
    def can_resolve(model: Model) -> bool:
        """Whether the model can be listed by its keys at all (pushed items have no ``_id``)."""
        return bool(model.path and model.readable and model.keyables)

    def hold(
        self,
        report: Reports,
        model: Model,
        results: Sequence[RecordResult],
        outcome: BulkOutcome,
        *,
        confirmed: bool,
        on_page: Callable[[], None],
    ) -> None:
        """Keep ``results`` (written, without an ``_id``) until :meth:`resolve`."""
        inserted = frozenset(_ids(outcome.inserts))
        updated = frozenset(_ids(outcome.updates))
        held = [
            Held(
                r.record.key,
                r.outcome,
                r.reason,
                r.record.ledger_entry,
                r.record.count,
                inserted,
                updated,
            )
            for r in results
        ]
        with self._lock:
            entry = self._models.setdefault(model.name, _ModelHeld(model, on_page))
            entry.records.setdefault((report, confirmed), []).extend(held)

    def resolve(self) -> None:
        """Find the held records' ids (one listing per model at most) and report them."""
        with self._lock:
            models, self._models = list(self._models.values()), {}
        for held in models:
            index, problem = self._index(held)
            for (report, confirmed), records in held.records.items():
                report.settle(
                    [_result(h, index, held.model, problem) for h in records],
                    counts={},  # counted already, by the answer's totals
                    confirmed=confirmed,
                )

    def _index(self, held: _ModelHeld) -> tuple[Mapping[Key, str], str | None]:
        """``key -> _id`` knowing every held key if it can: a listing only when needed."""
        model, lookups = held.model, self._lookups
        keys = {h.key for records in held.records.values() for h in records if h.key}
        if all(lookups.known_id(model, key) for key in keys):
            return {key: lookups.known_id(model, key) or "" for key in keys}, None
        count = sum(len(records) for records in held.records.values())
        self._logger.info(
            "Planhat's answers gave no _id for %d written %s records: listing their keys",
            count,
            model.planhat_name,
        )
        try:
            return lookups.fresh_key_index(model, held.on_page), None
        except PlanhatError as exc:
            # The records were written: their lines say why the id is missing, the run goes on.
            self._logger.warning("Listing %s keys failed: %s", model.planhat_name, exc)
            return {}, f"listing {model.planhat_name} failed: {exc}"


def _ids(entries: Sequence[Mapping[str, object]]) -> set[str]:
    found = (entry.get("_id") for entry in entries)
    return {value for value in found if isinstance(value, str)}


def _result(
    held: Held, index: Mapping[Key, str], model: Model, problem: str | None
) -> RecordResult:
    """The held record's result, with the ``_id`` found, or the reason none was."""
    record = MappedRecord({}, {}, held.key, count=held.records, ledger_entry=held.ledger_entry)
    planhat_id = (index.get(held.key) or None) if held.key else None
    outcome, reason = held.outcome, held.reason
    if planhat_id and outcome == "written":
        # An id-only answer told which ids it inserted and updated, not for which records.
        if planhat_id in held.inserted:
            outcome, reason = "created", None
        elif planhat_id in held.updated:
            outcome, reason = "updated", None
    if planhat_id is None:
        if held.key is None:
            why = "the record has no key to look it up by"
        elif problem:
            why = problem
        else:
            why = f"no {model.planhat_name} record has {held.key[0]}={held.key[1]}"
        missing = f"Planhat's answer gave no _id, and {why}"
        reason = f"{reason}; {missing}" if reason else missing
    return RecordResult(record, outcome, planhat_id, reason)
