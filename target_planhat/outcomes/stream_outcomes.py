"""The one path every record's outcome takes: counts, dead letter, sync ledger, results file.

Whatever becomes of a record (left out as unchanged, rejected by the target or by Planhat,
created, updated or deleted, skipped, or forecast so in a dry run) is a :class:`RecordResult`
handed to :meth:`StreamOutcomes.settle`, which

* adds it to the stream's counts, for as many input records as it stands for, unless the
  caller gives the counts (a bulk answer's own totals, see :meth:`StreamOutcomes.apply`);
* appends a rejected record to the dead letter file;
* remembers a record Planhat confirmed in the sync ledger, with its ``_id``, so a rerun that
  finds it unchanged leaves it out;
* gives the record its line in the results file.

A written record whose ``_id`` Planhat's answer did not give takes that path at the run's
end, once its ``_id`` was looked up by key (late_ids.py).

Two dead letter lines name no input record, and so take no results line: an error Planhat
reported against a whole chunk, and a failed delete of a record a table version no longer has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, cast

from target_planhat.mapping.options import Mode
from target_planhat.mapping.payloads import MappedRecord
from target_planhat.outcomes.attribution import RecordResult, attribute
from target_planhat.outcomes.bulk_answers import assign_errors
from target_planhat.outcomes.counts import Counts
from target_planhat.outcomes.late_ids import WRITTEN, LateIds

if TYPE_CHECKING:
    import logging
    from collections.abc import Sequence

    from target_planhat.lookups import KeyLookups
    from target_planhat.mapping.keys import Key
    from target_planhat.mapping.routing import Route
    from target_planhat.outcomes.bulk_answers import BulkOutcome, ItemError
    from target_planhat.outcomes.counts import StreamCounts
    from target_planhat.outcomes.files import RunFiles

UNCHANGED_REASON = "not sent: as an earlier run wrote it (sync ledger)"
SKIPPED_REASON = "the stream matches no Planhat model (skip_unknown_streams)"
#: Keys named in the dead letter line of an error Planhat reported against a whole chunk.
CHUNK_KEYS_SHOWN = 20
#: Outcomes counted in the summary column of the same name; ``written`` and ``unknown`` come
#: only from bulk answers, which are counted by the answer's totals.
_COUNTED = frozenset({"created", "updated", "unchanged", "deleted", "rejected", "skipped"})


class Reject(NamedTuple):
    """A record rejected before it was mapped (it failed validation, or mapping itself)."""

    #: As received (without ``_sdc_*`` metadata), for the dead letter file.
    record: dict[str, Any]
    reason: str
    #: ``(field, value)`` its key columns give, as a written record's key is chosen.
    key: Key | None


class StreamOutcomes:
    """Records a stream's outcomes where the run keeps them (see the module docstring)."""

    def __init__(
        self,
        stream: str,
        route: Route | None,
        counts: StreamCounts,
        *,
        files: RunFiles,
        lookups: KeyLookups,
        late_ids: LateIds,
        logger: logging.Logger,
    ) -> None:
        """Outcomes of ``stream``'s records; ``route`` None for a stream no model matches."""
        self._stream = stream
        self._route = route
        self._model = route.model.planhat_name if route else ""
        self._counts = counts
        self._files = files
        self._lookups = lookups
        self._late_ids = late_ids
        self._logger = logger

    def settle(
        self,
        results: Sequence[RecordResult],
        *,
        counts: Counts | None = None,
        confirmed: bool = False,
    ) -> None:
        """Count, dead-letter, remember and report what became of some records.

        ``counts``: what to add to the stream's counts instead of one per record.
        ``confirmed``: Planhat certainly took the records that were not rejected, so the sync
        ledger may remember them.
        """
        self._counts.add(**(_tally(results) if counts is None else counts))
        for result in results:
            if result.outcome == "rejected":
                self._dead_letter(
                    result.reason or "", result.record.original, result.record.key_label
                )
        if confirmed:
            entries = [
                (*r.record.ledger_entry, r.known_id)
                for r in results
                if r.record.ledger_entry is not None and r.outcome != "rejected"
            ]
            if entries:  # else the ledger is not even read (pushes have no entries)
                self._files.sync_ledger.remember(entries)
        if self._files.results is not None and results:
            self._files.results.write(self._stream, self._model, results)

    def left_unchanged(
        self, record: MappedRecord, planhat_id: str | None, reason: str = UNCHANGED_REASON
    ) -> None:
        """A record not sent, as there is nothing to change (by default: the sync ledger's)."""
        self.settle([RecordResult(record, "unchanged", planhat_id, reason)])

    def reject(self, record: MappedRecord, reason: str) -> None:
        """A record (and whatever was merged into it) that is not written, and why."""
        self.settle([RecordResult(record, "rejected", reason=reason)])

    def reject_raw(self, reject: Reject) -> None:
        """A record rejected before it was mapped, under the key its columns give."""
        self.reject(MappedRecord(reject.record, reject.record, reject.key), reject.reason)

    def skipped(self, record: dict[str, Any]) -> None:
        """A record of a stream no model matches (``skip_unknown_streams``)."""
        self.settle(
            [RecordResult(MappedRecord(record, record, None), "skipped", reason=SKIPPED_REASON)]
        )

    def deleted(self, key: Key, count: int, reason: str | None = None) -> None:
        """A delete of the record ``key`` names done (or, with a reason, found nothing to do)."""
        gone = MappedRecord({}, {}, key, count=count)
        self.settle([RecordResult(gone, "unchanged" if reason else "deleted", reason=reason)])

    def reject_delete(self, record_id: str, reason: str) -> None:
        """A failed delete of a record the stream no longer has (no input record names it)."""
        self._counts.add(rejected=1)
        self._dead_letter(reason, None, f"_id={record_id}")

    def reject_chunk(self, error: ItemError, chunk: Sequence[MappedRecord]) -> None:
        """An error that names no record of the chunk it came back for."""
        self._counts.add(rejected=1)
        keys = [r.key_label for r in chunk[:CHUNK_KEYS_SHOWN]]
        more = f" (+{len(chunk) - CHUNK_KEYS_SHOWN} more)" if len(chunk) > CHUNK_KEYS_SHOWN else ""
        reason = f"{error.reason} [reported against a chunk of {len(chunk)} records]"
        self._dead_letter(reason, None, ", ".join(keys) + more)

    def apply(self, outcome: BulkOutcome, chunk: Sequence[MappedRecord]) -> None:
        """Settle a chunk by Planhat's answer: its errors matched to records where possible.

        The counts are the answer's totals (the summary has always shown Planhat's numbers);
        each record's own outcome is attributed from the answer (attribution.py).
        """
        by_record, unmatched = assign_errors(outcome.errors, chunk)
        self.settle(
            [RecordResult(chunk[i], "rejected", reason="; ".join(r)) for i, r in by_record.items()]
        )
        for error in unmatched:
            self.reject_chunk(error, chunk)
        # Only what Planhat certainly took goes to the ledger: a record left out is just
        # sent again.
        remember = not unmatched and any(r.ledger_entry is not None for r in chunk)
        written: list[RecordResult] = []
        if remember or self._files.results is not None:  # else nobody reads the attribution
            results = attribute(chunk, outcome, by_record, len(unmatched), self._known_id)
            written = [r for r in results if r.outcome != "rejected"]
        totals = Counts(
            created=outcome.created, updated=outcome.updated, unchanged=outcome.unchanged
        )
        written, late = self._without_ids(written, remember=remember)
        self.settle(written, counts=totals, confirmed=remember)
        if late and self._route is not None:
            self._late_ids.hold(
                self,
                self._route.model,
                late,
                outcome,
                confirmed=remember,
                on_page=self._counts.count_call,
            )
        accounted = outcome.created + outcome.updated + outcome.unchanged + len(outcome.errors)
        if accounted < len(chunk):
            self._logger.warning(
                "Planhat accounted for %d of %d items sent to %s",
                accounted,
                len(chunk),
                self._model,
            )
        route = self._route
        if route is not None and route.mode is not Mode.UPSERT:
            # create_only and update_only streams check later batches against these keys.
            self._lookups.note_written(
                route.model,
                (
                    record.key
                    for position, record in enumerate(chunk)
                    if record.key is not None and position not in by_record
                ),
                self._counts.count_call,
            )

    def _without_ids(
        self, results: list[RecordResult], *, remember: bool
    ) -> tuple[list[RecordResult], list[RecordResult]]:
        """``(reported now, held for their _id)``: written records whose _id someone reads.

        Only a keyless answer leaves a written record without an ``_id`` (late_ids.py); the
        results file, or the sync ledger keeping the record, is what reads it.
        """
        route = self._route
        if route is None or route.mapping.push or not LateIds.can_resolve(route.model):
            return results, []
        now: list[RecordResult] = []
        late: list[RecordResult] = []
        for result in results:
            wanted = self._files.results is not None or (
                remember and result.record.ledger_entry is not None
            )
            needs_id = result.outcome in WRITTEN and result.known_id is None
            (late if wanted and needs_id else now).append(result)
        return now, late

    def _known_id(self, record: MappedRecord) -> str | None:
        if self._route is None:
            return None
        return self._lookups.known_id(self._route.model, record.key)

    def _dead_letter(self, reason: str, record: dict[str, Any] | None, key: str) -> None:
        self._files.dead_letter.write(
            stream=self._stream, model=self._model, reason=reason, record=record, key=key
        )


def _tally(results: Sequence[RecordResult]) -> Counts:
    """One count per input record, in the column of its outcome."""
    tally: dict[str, int] = {}
    for result in results:
        if result.outcome in _COUNTED:
            tally[result.outcome] = tally.get(result.outcome, 0) + result.record.count
    return cast("Counts", tally)
