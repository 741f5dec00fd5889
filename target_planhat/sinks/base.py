"""The sinks' common part: the SDK's record pipeline, and the sink for skipped streams.

:class:`PlanhatSink` takes each record through validation, mapping, the sync ledger and the
batch; a batch through in-batch merging, the checks before writing, the write and the hard
deletes. Its subclasses differ only in how a list of ready payloads is written
(:meth:`PlanhatSink.write`): bulk upsert (bulk.py) for most models, push (push.py) for
metrics and user activities, one call per record (single_record.py) for custom fields.
:class:`SkipSink` takes the records of streams no model matches. Every record's outcome,
whichever sink has it, is settled by the stream's StreamOutcomes
(outcomes/stream_outcomes.py).
"""

from __future__ import annotations

import copy
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from singer_sdk.sinks import BatchSink
from typing_extensions import override

from planhat_common.http import redact
from planhat_common.registry import BULK_UPSERT_MAX_ITEMS
from target_planhat.mapping.columns import (
    StreamColumns,
    log_column_matches,
    plan_stream,
    unmapped_record_key,
)
from target_planhat.mapping.records import (
    MappedRecord,
    RecordRejectedError,
    map_record,
    merge_duplicates,
)
from target_planhat.mapping.references import ReferenceResolver, put_user_ids
from target_planhat.mapping.validation import FlaggingValidator, RecordFlags, sink_schema
from target_planhat.mapping.write_checks import WriteChecks
from target_planhat.outcomes.counts import StreamProgress
from target_planhat.outcomes.stream_outcomes import Reject
from target_planhat.outcomes.sync_ledger import UnchangedRecords
from target_planhat.services import services_of
from target_planhat.sinks.hard_deletes import HardDeletes

if TYPE_CHECKING:
    from collections.abc import Sequence

    from singer_sdk.sinks.core import BaseJSONSchemaValidator
    from singer_sdk.target_base import Target


class PlanhatSink(BatchSink):
    """Base for every Planhat sink: batches of at most 5,000 records."""

    MAX_SIZE_DEFAULT = BULK_UPSERT_MAX_ITEMS

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        """Look up the stream's route (model, key, mode) in the target's services."""
        # Before the SDK's __init__, which reads include_sdc_metadata_properties (settings).
        services = self.services = services_of(target)
        self.route = services.router.route_for(stream_name)
        self.counts = services.summary.counts_for(stream_name, self.route)
        self.declared_schema = copy.deepcopy(schema)
        #: Why the record in hand is rejected (the SDK's __init__ builds the validator).
        self.flags = RecordFlags()
        super().__init__(target, stream_name, sink_schema(schema), key_properties)
        # The SDK compares this with later SCHEMA messages: keep what the tap sent.
        self.original_schema = copy.deepcopy(schema)
        settings = services.settings
        self.outcomes = services.outcomes_for(stream_name, self.route, self.counts, self.logger)
        self.unchanged = UnchangedRecords(
            self.route,
            lambda: services.files.sync_ledger,
            services.connection.api_url,
            skip=settings.skip_unchanged,
        )
        self.checks = WriteChecks(
            self.route,
            self.outcomes.reject,
            partial(services.lookups.key_index, self.route.model, self.counts.count_call),
        )
        self.references = ReferenceResolver(
            self.route.model, services.lookups, self.counts.count_call, self.outcomes.reject
        )
        self.deletes = HardDeletes(
            self.route,
            client=services.client,
            lookups=services.lookups,
            counts=self.counts,
            outcomes=self.outcomes,
            logger=self.logger,
            enabled=settings.hard_delete,
            dry_run=settings.dry_run,
        )
        self.progress = StreamProgress(stream_name, self.counts, self.logger, dry_run=self.dry_run)
        #: Column names, key and mapping; from the SCHEMA, or the first record when the
        #: SCHEMA declares no properties.
        self.columns: StreamColumns | None = None
        #: Records in the current batch (the SDK counts the ones left out as well).
        self.batched = 0
        properties = list(schema.get("properties") or {})
        if properties:
            self.columns = self.plan_columns(properties)
        services.sinks.register(self, self.route.model)

    def plan_columns(self, columns: list[str]) -> StreamColumns:
        """Match the stream's columns to Planhat's fields; refuse a stream with no key."""
        lookups, model = self.services.lookups, self.route.model
        custom_names = partial(lookups.custom_field_names, model, self.counts.count_call)
        planned = plan_stream(self.route, columns, self.key_properties, custom_names)
        log_column_matches(self.logger, self.stream_name, planned)
        return planned

    @property
    @override
    def max_size(self) -> int:
        """``batch_size_rows``, capped at Planhat's 5,000 items per bulk call."""
        return min(super().max_size, BULK_UPSERT_MAX_ITEMS)

    @property
    @override
    def current_size(self) -> int:
        """Records read into the batch, plus one while the previous batch is still written.

        The SDK drains (and only then writes STATE) just the sinks whose size is not 0, so a
        batch still being written in the background must count (see sinks/writer.py).
        """
        return super().current_size + (1 if self.services.writer.busy_with(self) else 0)

    @property
    @override
    def is_full(self) -> bool:
        """Full when the batch holds ``max_size`` records to write or dead-letter.

        Records left out as unchanged (sync ledger) do not count, although the SDK counts
        every record read: so 3 changed rows of 100,000 still make one small call.
        """
        return self.batched >= self.max_size

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """Schema and date checks that dead-letter a bad record instead of failing the run."""
        if not self.validate_schema:
            return None
        return FlaggingValidator.for_sink(
            self.declared_schema,
            self.schema,
            self.flags,
            check_formats=self.validate_field_string_format,
        )

    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        """Keep ``_sdc_deleted_at`` when hard deletes are on (it is never sent)."""
        return self.services.settings.hard_delete or super().include_sdc_metadata_properties

    @property
    def dry_run(self) -> bool:
        """Whether to plan calls without writing."""
        return self.services.settings.dry_run

    @property
    def model_name(self) -> str:
        """Planhat's name for the stream's model."""
        return self.route.model.planhat_name

    # -- per record -------------------------------------------------------------------------

    @override
    def preprocess_record(self, record: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        # The SDK stops the run on a record missing a key property (its check comes next):
        # filled with None, the record passes it, to be dead-lettered as received.
        missing = [k for k in self.key_properties if k not in record]
        if missing:
            reason = f"missing key properties: {', '.join(missing)}"
            self.flags.flag(record, reason, added=missing)
            record.update(dict.fromkeys(missing))
        return record

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        self.counts.add(received=1)
        flagged = self.flags.take(record)
        if flagged is not None:
            reason, received = flagged
            # Rejections are written with the batch: a background write may be counting.
            self.batch_reject(context, received, reason)
            return
        if self.columns is None:
            self.columns = self.plan_columns(list(record))
        self.deletes.note_version(record, self.columns.key_columns)
        try:
            mapped = map_record(record, self.columns.mapping)
        except RecordRejectedError as exc:
            self.batch_reject(context, record, str(exc))
            return
        if mapped.user_emails:
            users = self.services.lookups.user_ids_by_email(self.counts.count_call)
            problem = put_user_ids(mapped, users)
            if problem:
                self.batch_reject(context, record, problem, mapped)
                return
        if self.unchanged.unchanged(mapped):
            self.outcomes.left_unchanged(mapped, self.unchanged.planhat_id(mapped))
            return
        context.setdefault("records", []).append(mapped)
        self.batched += 1

    def batch_reject(
        self,
        context: dict[str, Any],
        record: dict[str, Any],
        reason: str,
        mapped: MappedRecord | None = None,
    ) -> None:
        """Reject a record with its batch; one not yet ``mapped`` under its columns' key."""
        columns = self.columns, self.route.mapping, self.key_properties
        key = mapped.key if mapped else unmapped_record_key(record, *columns)
        context.setdefault("rejects", []).append(Reject(record, reason, key))
        self.batched += 1

    # -- per batch --------------------------------------------------------------------------

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        self.batched = 0
        records: list[MappedRecord] = context.get("records", [])
        rejects: list[Reject] = context.get("rejects", [])
        if records:
            # A full batch of children can drain before its companies' batch: write those
            # first, so references by externalId/sourceId resolve.
            self.services.sinks.drain_parents_of(self, self.route.model)
            merged = merge_duplicates(records, self.route.model)
            if len(merged) < len(records):
                self.tally_duplicate_merged(len(records) - len(merged))
                self.logger.info(
                    "Merged %d records sharing a key into %d", len(records), len(merged)
                )
            records = merged
            # Encoding is most of a write's CPU time: done here, the background thread
            # only waits for Planhat instead of contending for the GIL with the reader.
            for mapped in records:
                mapped.encode()
        # Full batches are written while the next one is read; any other drain (end of
        # input, before STATE, ACTIVATE_VERSION, parents first) waits for the write.
        self.services.writer.run(
            self, partial(self.write_batch, records, rejects), background=self.is_full
        )

    def write_batch(self, merged: list[MappedRecord], rejects: list[Reject]) -> None:
        """Dead-letter the batch's local rejections, check, write and delete; log progress."""
        for reject in rejects:
            self.outcomes.reject_raw(reject)
        hard_delete = self.services.settings.hard_delete
        deletes = [r for r in merged if r.deleted and hard_delete]
        # References resolve here, once the batches they point at were written (sinks/registry.py).
        writes = [r for r in merged if not (r.deleted and hard_delete)]
        writes = self.checks.passed(self.references.resolve(writes))
        if writes:
            self.write(writes)
        if deletes:
            self.deletes.delete(deletes)
        self.progress.batch_written()

    def write(self, records: list[MappedRecord]) -> None:
        """Send ready records (subclasses)."""
        raise NotImplementedError

    @override
    def activate_version(self, new_version: int) -> None:
        """With ``hard_delete``, delete the model's records the stream's new version lacks."""
        self.deletes.activate_version(new_version, settle=self._write_pending)

    def _write_pending(self) -> None:
        self.services.sinks.drain(self)  # the version's pending records first
        self.services.writer.wait()  # and every write still running: Planhat must have them

    @override
    def clean_up(self) -> None:
        super().clean_up()
        self.unchanged.log_count(self.logger)
        self.services.sinks.finish_run(self)


def path_for_log(url: str, secrets: Sequence[str]) -> str:
    """The path of ``url`` with secrets redacted, for logs."""
    return redact(urlsplit(url).path, secrets)


class SkipSink(BatchSink):
    """Takes the records of a stream no model matches (``skip_unknown_streams``), as skipped."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        """Count into the run's per-stream totals."""
        services = self.services = services_of(target)
        self.counts = services.summary.counts_for(stream_name, None)
        super().__init__(target, stream_name, schema, key_properties)
        self.outcomes = services.outcomes_for(stream_name, None, self.counts, self.logger)
        services.sinks.register(self, None)

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        self.counts.add(received=1)
        self.outcomes.skipped(record)

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        return

    @override
    def clean_up(self) -> None:
        super().clean_up()
        self.services.sinks.finish_run(self)
