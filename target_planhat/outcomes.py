"""What became of a stream's records: counts, dead letter, results file and sync ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from target_planhat.attribution import RecordResult, attribute
from target_planhat.records import MappedRecord, Mode
from target_planhat.results import assign_errors

if TYPE_CHECKING:
    import logging
    from collections.abc import Iterable, Sequence

    from target_planhat.key_lookups import KeyLookups
    from target_planhat.results import BulkOutcome, ItemError
    from target_planhat.routing import Route
    from target_planhat.run_files import RunFiles
    from target_planhat.run_summary import StreamCounts

#: Keys named in the dead letter line of an error Planhat reported against a whole chunk.
CHUNK_KEYS_SHOWN = 20


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

    def reject_raw(self, record: dict[str, Any], reason: str) -> None:
        """Reject a record that could not even be mapped."""
        self.report([RecordResult(MappedRecord(record, record, None), "rejected", reason=reason)])
        self._counts.add(rejected=1)
        self._files.dead_letter.write(
            stream=self._stream, model=self._model, reason=reason, record=record
        )

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

    def remember_written(self, records: Iterable[MappedRecord]) -> None:
        """Note records Planhat confirmed in the sync ledger."""
        entries = [r.ledger_entry for r in records if r.ledger_entry is not None]
        if entries:
            self._files.sync_ledger.remember(entries)

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
        if not unmatched:
            # Only what Planhat certainly took: a record left out is just sent again.
            self.remember_written(r for i, r in enumerate(chunk) if i not in by_record)
        if self._files.results is not None:
            results = attribute(chunk, outcome, by_record, len(unmatched), self._known_id)
            self.report([r for r in results if r.outcome != "rejected"])
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
