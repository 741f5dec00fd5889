"""What became of a stream's records: counts, dead letter, results file and sync ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from target_planhat.attribution import RecordResult, attribute
from target_planhat.records import MappedRecord, Mode
from target_planhat.results import assign_errors

if TYPE_CHECKING:
    import logging
    from collections.abc import Sequence

    from target_planhat.key_lookups import KeyLookups
    from target_planhat.results import BulkOutcome, ItemError
    from target_planhat.routing import Route
    from target_planhat.run_files import RunFiles
    from target_planhat.run_summary import StreamCounts

UNCHANGED_REASON = "not sent: as an earlier run wrote it (sync ledger)"
#: Keys named in the dead letter line of an error Planhat reported against a whole chunk.
CHUNK_KEYS_SHOWN = 20


class Reject(NamedTuple):
    """A record rejected before it was mapped (it failed validation, or mapping itself)."""

    #: As received (without ``_sdc_*`` metadata), for the dead letter file.
    record: dict[str, Any]
    reason: str
    #: ``(field, value)`` its key columns give, as a written record's key is chosen.
    key: tuple[str, str] | None


class StreamOutcomes:
    """Records a stream's outcomes where the run keeps them.

    Rejected records are counted, dead-lettered and reported in the results file; records
    Planhat confirmed go to the sync ledger, so an unchanged rerun leaves them out.
    """

    def __init__(
        self,
        route: Route,
        counts: StreamCounts,
        *,
        files: RunFiles,
        lookups: KeyLookups,
        logger: logging.Logger,
    ) -> None:
        """Outcomes of the records of ``route``'s stream."""
        self._stream = route.stream
        self._route = route
        self._model = route.model.planhat_name
        self._counts = counts
        self._files = files
        self._lookups = lookups
        self._logger = logger

    def report(self, results: list[RecordResult]) -> None:
        """Write record outcomes to the results file, when there is one."""
        if self._files.results is not None and results:
            self._files.results.write(self._stream, self._model, results)

    def left_unchanged(self, record: MappedRecord, planhat_id: str | None) -> None:
        """Count and report a record not sent, as an earlier run wrote it (sync ledger)."""
        self._counts.add(unchanged=1)
        self.report([RecordResult(record, "unchanged", planhat_id, UNCHANGED_REASON)])

    def reject(self, record: MappedRecord, reason: str) -> None:
        """Count a record (and whatever was merged into it) as rejected and dead-letter it."""
        self.report([RecordResult(record, "rejected", reason=reason)])
        self._counts.add(rejected=record.count)
        self._files.dead_letter.write(
            stream=self._stream,
            model=self._model,
            reason=reason,
            record=record.original,
            key=record.key_label,
        )

    def reject_raw(self, reject: Reject) -> None:
        """Reject a record that was not mapped, under the key its columns give."""
        self.reject(MappedRecord(reject.record, reject.record, reject.key), reject.reason)

    def reject_delete(self, record_id: str, reason: str) -> None:
        """Count and dead-letter a delete of a record the stream no longer has."""
        self._counts.add(rejected=1)
        self._files.dead_letter.write(
            stream=self._stream,
            model=self._model,
            reason=reason,
            record=None,
            key=f"_id={record_id}",
        )

    def reject_chunk(self, error: ItemError, chunk: Sequence[MappedRecord]) -> None:
        """Record an error that names no record of the chunk it came back for."""
        self._counts.add(rejected=1)
        keys = [r.key_label for r in chunk[:CHUNK_KEYS_SHOWN]]
        more = f" (+{len(chunk) - CHUNK_KEYS_SHOWN} more)" if len(chunk) > CHUNK_KEYS_SHOWN else ""
        self._files.dead_letter.write(
            stream=self._stream,
            model=self._model,
            reason=f"{error.reason} [reported against a chunk of {len(chunk)} records]",
            record=None,
            key=", ".join(keys) + more,
        )

    def confirmed(self, results: Sequence[RecordResult]) -> None:
        """Report records Planhat confirmed, and note them (with their ids) in the sync ledger."""
        entries = [
            (*r.record.ledger_entry, r.known_id)
            for r in results
            if r.record.ledger_entry is not None
        ]
        if entries:
            self._files.sync_ledger.remember(entries)
        self.report(list(results))

    def _known_id(self, record: MappedRecord) -> str | None:
        return self._lookups.known_id(self._route.model, record.key)

    def apply(self, outcome: BulkOutcome, chunk: Sequence[MappedRecord]) -> None:
        """Count an outcome and dead-letter its errors, matched to records where possible."""
        self._counts.add(
            created=outcome.created, updated=outcome.updated, unchanged=outcome.unchanged
        )
        by_record, unmatched = assign_errors(outcome.errors, chunk)
        for index, reasons in by_record.items():
            self.reject(chunk[index], "; ".join(reasons))
        for error in unmatched:
            self.reject_chunk(error, chunk)
        # Only what Planhat certainly took goes to the ledger: a record left out is just
        # sent again. Push items have no ledger entry: then the ledger file is not even read.
        remember = not unmatched and any(r.ledger_entry is not None for r in chunk)
        if remember or self._files.results is not None:
            results = attribute(chunk, outcome, by_record, len(unmatched), self._known_id)
            written = [r for r in results if r.outcome != "rejected"]
            if remember:
                self.confirmed(written)
            else:
                self.report(written)
        accounted = outcome.created + outcome.updated + outcome.unchanged + len(outcome.errors)
        if accounted < len(chunk):
            self._logger.warning(
                "Planhat accounted for %d of %d items sent to %s",
                accounted,
                len(chunk),
                self._model,
            )
        if self._route.mode is not Mode.UPSERT:
            # create_only and update_only streams check later batches against these keys.
            self._lookups.note_written(
                self._route.model,
                (
                    record.key
                    for position, record in enumerate(chunk)
                    if record.key is not None and position not in by_record
                ),
                self._counts.count_call,
            )
