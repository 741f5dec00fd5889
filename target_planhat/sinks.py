"""Sinks: bulk upsert, analytics push, single record, and skipping unknown streams.

Bulk upsert serves most models; the push sink metrics and user activities; the
single-record sink custom fields; the skip sink streams no model matches.

Shared logic lives in :class:`PlanhatSink`: mapping, in-batch merging, the update_only /
create_only filters, required-field checks, hard deletes, dead-lettering and counting. The
subclasses differ only in how a list of ready payloads is written (:meth:`PlanhatSink.write`).
"""

from __future__ import annotations

import copy
from functools import partial
from typing import TYPE_CHECKING, Any

from singer_sdk.sinks import BatchSink
from typing_extensions import override

from planhat_common.errors import PlanhatError
from planhat_common.http import OutcomeUnknownError
from planhat_common.registry import BULK_UPSERT_MAX_ITEMS, Verb
from target_planhat.attribution import RecordResult, attribute
from target_planhat.columns import (
    StreamColumns,
    keyless_problem,
    log_column_matches,
    needs_custom_names,
    stream_columns,
)
from target_planhat.errors import StreamSetupError
from target_planhat.fieldnames import ColumnClashError
from target_planhat.records import (
    MappedRecord,
    Mode,
    RecordRejectedError,
    dumps,
    email_column,
    map_record,
    merge_duplicates,
    merge_identity,
    missing_for_create,
    push_item_problem,
)
from target_planhat.results import (
    BulkOutcome,
    ItemError,
    applied_anything,
    assign_errors,
    parse_bulk_body,
    parse_push_body,
)
from target_planhat.sync_ledger import identity_digest, payload_digest
from target_planhat.validation import INVALID_MARK, MarkingValidator, sink_schema

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from singer_sdk.sinks.core import BaseJSONSchemaValidator

    from planhat_common.client import Reply
    from target_planhat.target import Route, TargetPlanhat

UNCHANGED_REASON = "not sent: as an earlier run wrote it (sync ledger)"
SKIPPED = "the stream matches no Planhat model (skip_unknown_streams)"
#: Statuses after which a batch is split in two and each half resent (never resent as is).
SPLIT_STATUSES = frozenset({400, 413, 422})
#: Placeholder for a missing key property, so the SDK's key check lets the record through
#: to be dead-lettered.
_MISSING = object()


class PlanhatSink(BatchSink):
    """Base for every Planhat sink: batches of at most 5,000 records."""

    MAX_SIZE_DEFAULT = BULK_UPSERT_MAX_ITEMS

    def __init__(
        self,
        target: TargetPlanhat,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        """Look up the stream's route (model, key, mode) on the target."""
        self.planhat = target
        self.route: Route = target.route_for(stream_name)
        self.counts = target.counts_for(stream_name, self.route)
        #: Keys seen per table version, and ids Planhat reported written (ACTIVATE_VERSION).
        self.version_keys: dict[int, set[tuple[str, str]]] = {}
        self.written_ids: set[str] = set()
        self.declared_schema = copy.deepcopy(schema)
        super().__init__(target, stream_name, sink_schema(schema), key_properties)
        # The SDK compares this with later SCHEMA messages: keep what the tap sent.
        self.original_schema = copy.deepcopy(schema)
        #: Column names, key and mapping; from the SCHEMA, or the first record when the
        #: SCHEMA declares no properties.
        self.columns: StreamColumns | None = None
        #: Records in the current batch (the SDK counts the ones left out as well).
        self.batched = 0
        #: Sync ledger: identities this run sends, and records left out as unchanged.
        self.changed_identities: set[int] = set()
        self.unchanged_count = 0
        properties = list(schema.get("properties") or {})
        if properties:
            self.columns = self.plan_columns(properties)
        target.register_sink(self)

    def plan_columns(self, columns: list[str]) -> StreamColumns:
        """Match the stream's columns to Planhat's fields; refuse a stream with no key."""
        mapping = self.route.mapping
        try:
            custom = None
            if needs_custom_names(mapping, columns):
                custom = self.planhat.custom_field_names(mapping.model, self.counts)
            planned = stream_columns(mapping, columns, self.key_properties, custom)
        except ColumnClashError as exc:
            raise StreamSetupError(f"Stream '{self.stream_name}': {exc}") from exc
        problem = keyless_problem(self.stream_name, self.route.mode, planned)
        if problem:
            raise StreamSetupError(problem)
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
        batch still being written in the background must count (see writer.py).
        """
        return super().current_size + (1 if self.planhat.writer.busy_with(self) else 0)

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
        # The declared schema, plus the _sdc_* fields the SDK adds when add_record_metadata.
        metadata = {k: v for k, v in self.schema["properties"].items() if k.startswith("_sdc_")}
        schema = {
            **self.declared_schema,
            "properties": {**self.declared_schema.get("properties", {}), **metadata},
        }
        return MarkingValidator(schema, check_formats=self.validate_field_string_format)

    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        """Keep ``_sdc_deleted_at`` when hard deletes are on (it is never sent)."""
        return bool(self.config.get("hard_delete")) or super().include_sdc_metadata_properties

    @property
    def dry_run(self) -> bool:
        """Whether to plan calls without writing."""
        return bool(self.config.get("dry_run"))

    @property
    def model_name(self) -> str:
        """Planhat's name for the stream's model."""
        return self.route.model.planhat_name

    # -- per record -------------------------------------------------------------------------

    @override
    def preprocess_record(self, record: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        # The SDK stops the run on a record missing a key property; dead-letter it instead.
        missing = [k for k in self.key_properties if k not in record]
        if missing:
            record.setdefault(INVALID_MARK, f"missing key properties: {', '.join(missing)}")
            record.update(dict.fromkeys(missing, _MISSING))
        return record

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        self.counts.received += 1
        invalid = record.pop(INVALID_MARK, None)
        if invalid is not None:
            original = {k: v for k, v in record.items() if v is not _MISSING}
            # Rejections are written with the batch: a background write may be counting.
            context.setdefault("rejects", []).append((original, str(invalid)))
            self.batched += 1
            return
        if self.columns is None:
            self.columns = self.plan_columns(list(record))
        self.note_version(record)
        try:
            mapped = map_record(record, self.columns.mapping)
        except RecordRejectedError as exc:
            context.setdefault("rejects", []).append((record, str(exc)))
            self.batched += 1
            return
        if mapped.user_emails:
            problem = self.resolve_user_emails(mapped)
            if problem:
                context.setdefault("rejects", []).append((record, problem))
                self.batched += 1
                return
        if self.unchanged_since_last_run(mapped):
            self.counts.unchanged += 1
            self.unchanged_count += 1
            self.report([RecordResult(mapped, "unchanged", reason=UNCHANGED_REASON)])
            return
        context.setdefault("records", []).append(mapped)
        self.batched += 1

    def note_version(self, record: dict[str, Any]) -> None:
        """Remember the keys a table version holds, for ACTIVATE_VERSION.

        Rejected records count too: the source has them, so their Planhat records stay.
        """
        version = record.get("_sdc_table_version")
        if version is None or self.columns is None:
            return
        keys = self.version_keys.setdefault(version, set())
        for column, name in self.columns.key_columns:
            value = record.get(column)
            if value not in (None, "") and not isinstance(value, (dict, list)):
                keys.add((name, str(value)))

    # -- per batch --------------------------------------------------------------------------

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        self.batched = 0
        records: list[MappedRecord] = context.get("records", [])
        rejects: list[tuple[dict[str, Any], str]] = context.get("rejects", [])
        if records:
            # A full batch of children can drain before its companies' batch: write those
            # first, so references by externalId/sourceId resolve.
            self.planhat.drain_parents_of(self)
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
        self.planhat.writer.run(
            self, partial(self.write_batch, records, rejects), background=self.is_full
        )

    def write_batch(
        self, merged: list[MappedRecord], rejects: list[tuple[dict[str, Any], str]]
    ) -> None:
        """Dead-letter the batch's local rejections, then write, filter and delete."""
        for record, reason in rejects:
            self.reject_raw(record, reason)
        if not merged:
            return
        hard_delete = bool(self.config.get("hard_delete"))
        deletes = [r for r in merged if r.deleted and hard_delete]
        writes = [r for r in merged if not (r.deleted and hard_delete)]
        writes = self.require_keys(writes)
        writes = self.filter_by_mode(writes)
        writes = self.check_required(writes)
        if writes:
            self.write(writes)
        if deletes:
            self.delete(deletes)

    def require_keys(self, records: list[MappedRecord]) -> list[MappedRecord]:
        """Reject records with no key value: a rerun would create them again.

        Only ``create_only`` streams (and pushes, which are not upserts) create keyless
        records.
        """
        if self.route.mode is Mode.CREATE_ONLY or self.route.mapping.push:
            return records
        kept = []
        for record in records:
            if record.key is None:
                keys = ", ".join(self.route.model.keyables)
                self.reject(
                    record,
                    f"no value in any key column ({keys}): not written, as a "
                    "rerun would create it again",
                )
            else:
                kept.append(record)
        return kept

    def resolve_user_emails(self, record: MappedRecord) -> str | None:
        """Put team members given by email (``ownerEmail``) in as their ``_id``s.

        Returns why the record cannot be sent (an email no team member has), or None.
        """
        users = self.planhat.user_ids_by_email(self.counts)
        for field_name, email in record.user_emails.items():
            user_id = users.get(email.lower())
            if user_id is None:
                return (
                    f"{email_column(field_name)} '{email}' is no team member's email in Planhat "
                    f"(for {field_name})"
                )
            record.payload[field_name] = user_id
        return None

    def unchanged_since_last_run(self, record: MappedRecord) -> bool:
        """Whether an earlier run wrote this record as it is now (then it is not sent).

        Checked as records arrive, so batches hold changed records only: three changed rows
        of 100,000 make one small call. A record whose key an earlier record of this run
        changed is always sent, so the last one still wins.
        """
        ledger = self.planhat.sync_ledger
        if not ledger.enabled or self.route.mapping.push or record.deleted:
            return False
        identity = merge_identity(record, self.route.model)
        if identity is None:
            return False  # create_only without a key: nothing to compare with
        scope = self.planhat.connection.api_url
        record.ledger_entry = (
            identity_digest(scope, self.stream_name, identity),
            payload_digest(record.payload),
        )
        identity_key, payload_key = record.ledger_entry
        if (
            self.planhat.skip_unchanged
            and ledger.unchanged(identity_key, payload_key)
            and identity_key not in self.changed_identities
        ):
            return True
        self.changed_identities.add(identity_key)
        return False

    def remember_written(self, records: Iterable[MappedRecord]) -> None:
        """Note records Planhat confirmed in the sync ledger."""
        entries = [r.ledger_entry for r in records if r.ledger_entry is not None]
        if entries:
            self.planhat.sync_ledger.remember(entries)

    def filter_by_mode(self, records: list[MappedRecord]) -> list[MappedRecord]:
        """Drop (and dead-letter) records the stream's mode forbids."""
        mode = self.route.mode
        if mode is Mode.UPSERT:
            return records
        index = self.planhat.key_index(self.route.model, self.counts)
        kept = []
        for record in records:
            exists = record.key is not None and record.key in index
            if mode is Mode.UPDATE_ONLY and not exists:
                why = "has no key" if record.key is None else "matches no existing record"
                self.reject(record, f"update_only: {record.key_label} {why}")
            elif mode is Mode.CREATE_ONLY and exists:
                self.reject(record, f"create_only: {record.key_label} already exists")
            else:
                kept.append(record)
        return kept

    def check_required(self, records: list[MappedRecord]) -> list[MappedRecord]:
        """Reject records that can only create and lack a field creating needs.

        (docs/planhat-api.md, "Required fields to create")
        """
        model = self.route.model
        kept = []
        for record in records:
            creates = record.key is None or self.route.mode is Mode.CREATE_ONLY
            required = self.route.mapping.required
            missing = missing_for_create(record.payload, model, required) if creates else []
            if (
                model.name == "tickets"
                and "email" not in missing
                and not record.payload.get("email")
            ):
                # Planhat drops tickets without email silently (docs/planhat-api.md,
                # "Required fields to create").
                missing.append("email")
            if missing:
                self.reject(
                    record,
                    f"no key and missing field(s) required to create a {model.planhat_name}: "
                    f"{', '.join(missing)}",
                )
            else:
                kept.append(record)
        return kept

    def write(self, records: list[MappedRecord]) -> None:
        """Send ready records (subclasses)."""
        raise NotImplementedError

    def delete(self, records: list[MappedRecord]) -> None:
        """Hard-delete records by ``_id``, resolving other keys through one list scan."""
        model = self.route.model
        if model.path is None:
            for record in records:
                self.reject(record, f"{model.planhat_name} records cannot be deleted")
            return
        for record in records:
            record_id = self.resolve_id(record)
            if record_id is None:
                self.logger.info("Delete: %s not found in Planhat; nothing to do", record.key_label)
                self.counts.unchanged += record.count
                continue
            problem = self.delete_id(record_id, record.count)
            if problem:
                self.reject(record, problem)

    def delete_id(self, record_id: str, count: int = 1) -> str | None:
        """``DELETE /<path>/<_id>``; count it; return why it failed (4xx), if it did."""
        path = self.route.model.path or ""
        if self.dry_run:
            self.logger.info("Dry run: would DELETE %s/%s", path, record_id)
            self.counts.planned += 1
            self.counts.deleted += count
            return None
        reply = self.planhat.client.call("DELETE", self.planhat.client.api(path, record_id))
        self.counts.calls += 1
        if reply.ok:
            self.counts.deleted += count
            self.report([RecordResult(MappedRecord({}, {}, ("_id", record_id)), "deleted")])
        elif reply.status == 404:  # noqa: PLR2004
            self.counts.unchanged += count
        elif 400 <= reply.status < 500:  # noqa: PLR2004
            return f"delete failed: {reply.description}"
        else:
            raise PlanhatError(f"Deleting {self.model_name} failed: {reply.description}")
        return None

    @override
    def activate_version(self, new_version: int) -> None:
        """With ``hard_delete``, delete the model's records the stream's new version lacks.

        The stream's full content is version ``new_version``. Taps send ACTIVATE_VERSION
        before a full-table sync as well as after; the first one finds no records of the
        version yet and deletes nothing.
        """
        kept = self.version_keys.pop(new_version, set())
        if not self.config.get("hard_delete") or not self.route.model.path:
            self.logger.info(
                "ACTIVATE_VERSION %s for '%s': nothing deleted (hard_delete is off)",
                new_version,
                self.stream_name,
            )
            return
        if not kept:
            self.logger.info(
                "ACTIVATE_VERSION %s for '%s': no records of this version; nothing deleted",
                new_version,
                self.stream_name,
            )
            return
        self.planhat.drain_one(self)  # the version's pending records first
        self.planhat.writer.wait()  # and every write still running: Planhat must have them
        doomed = self.planhat.ids_absent_from(self.route.model, kept, self.written_ids, self.counts)
        self.logger.warning(
            "ACTIVATE_VERSION %s for '%s': deleting %d %s records the stream no longer has",
            new_version,
            self.stream_name,
            len(doomed),
            self.model_name,
        )
        for record_id in doomed:
            problem = self.delete_id(record_id)
            if problem:
                self.counts.rejected += 1
                self.planhat.dead_letter.write(
                    stream=self.stream_name,
                    model=self.model_name,
                    reason=problem,
                    record=None,
                    key=f"_id={record_id}",
                )

    def known_id(self, record: MappedRecord) -> str | None:
        """The record's Planhat ``_id`` if the run knows it without asking (for results)."""
        if record.key is None:
            return None
        if record.key[0] == "_id":
            return record.key[1]
        return self.planhat.known_id(self.route.model, record.key)

    def resolve_id(self, record: MappedRecord) -> str | None:
        """The Planhat ``_id`` of a keyed record, or None when nothing matches."""
        if record.key is None:
            return None
        if record.key[0] == "_id":
            return record.key[1]
        return self.planhat.key_index(self.route.model, self.counts).get(record.key) or None

    @override
    def clean_up(self) -> None:
        super().clean_up()
        if self.unchanged_count:
            self.logger.info(
                "Stream '%s': %d records are as an earlier run wrote them (sync ledger); "
                "not sent again",
                self.stream_name,
                self.unchanged_count,
            )
        self.planhat.finish_run(self)

    # -- outcomes ---------------------------------------------------------------------------

    def report(self, results: list[RecordResult]) -> None:
        """Write record outcomes to the results file, when there is one."""
        if self.planhat.results is not None and results:
            self.planhat.results.write(self.stream_name, self.model_name, results)

    def reject(self, record: MappedRecord, reason: str) -> None:
        """Count a record (and whatever was merged into it) as rejected and dead-letter it."""
        self.report([RecordResult(record, "rejected", reason=reason)])
        self.counts.rejected += record.count
        self.planhat.dead_letter.write(
            stream=self.stream_name,
            model=self.model_name,
            reason=reason,
            record=record.original,
            key=record.key_label,
        )

    def reject_raw(self, record: dict[str, Any], reason: str) -> None:
        """Reject a record that could not even be mapped."""
        self.report([RecordResult(MappedRecord(record, record, None), "rejected", reason=reason)])
        self.counts.rejected += 1
        self.planhat.dead_letter.write(
            stream=self.stream_name, model=self.model_name, reason=reason, record=record
        )

    def reject_chunk(self, error: ItemError, chunk: Sequence[MappedRecord]) -> None:
        """Record an error that names no record of the chunk it came back for."""
        self.counts.rejected += 1
        keys = [r.key_label for r in chunk[:20]]
        more = f" (+{len(chunk) - 20} more)" if len(chunk) > 20 else ""  # noqa: PLR2004
        self.planhat.dead_letter.write(
            stream=self.stream_name,
            model=self.model_name,
            reason=f"{error.reason} [reported against a chunk of {len(chunk)} records]",
            record=None,
            key=", ".join(keys) + more,
        )

    def apply_outcome(self, outcome: BulkOutcome, chunk: Sequence[MappedRecord]) -> None:
        """Count an outcome and dead-letter its errors, matched to records where possible."""
        self.counts.created += outcome.created
        self.counts.updated += outcome.updated
        self.counts.unchanged += outcome.unchanged
        if self.version_keys:
            # Only a versioned stream needs them (ACTIVATE_VERSION); others keep memory flat.
            self.written_ids |= outcome.upserted_ids
        by_record, unmatched = assign_errors(outcome.errors, chunk)
        for index, reasons in by_record.items():
            self.reject(chunk[index], "; ".join(reasons))
        for error in unmatched:
            self.reject_chunk(error, chunk)
        if not unmatched:
            # Only what Planhat certainly took: a record left out is just sent again.
            self.remember_written(r for i, r in enumerate(chunk) if i not in by_record)
        if self.planhat.results is not None:
            results = attribute(chunk, outcome, by_record, len(unmatched), self.known_id)
            self.report([r for r in results if r.outcome != "rejected"])
        accounted = outcome.created + outcome.updated + outcome.unchanged + len(outcome.errors)
        if accounted < len(chunk):
            self.logger.warning(
                "Planhat accounted for %d of %d items sent to %s",
                accounted,
                len(chunk),
                self.model_name,
            )
        if self.route.mode is not Mode.UPSERT:
            known = self.planhat.key_index(self.route.model, self.counts)
            rejected = set(by_record)
            for position, record in enumerate(chunk):
                if record.key is not None and position not in rejected:
                    known.setdefault(record.key, "")

    # -- chunking ---------------------------------------------------------------------------

    def chunks(
        self, records: Sequence[MappedRecord], max_items: int
    ) -> Iterator[tuple[list[MappedRecord], list[bytes]]]:
        """Split records into chunks under both the item and the byte cap."""
        cap = self.planhat.max_batch_bytes
        chunk: list[MappedRecord] = []
        encoded: list[bytes] = []
        size = 2
        for record in records:
            item = record.encode()
            if len(item) + 2 > cap:
                self.reject(record, f"record is {len(item)} bytes, over max_batch_bytes={cap}")
                continue
            if chunk and (len(chunk) >= max_items or size + len(item) + 1 > cap):
                yield chunk, encoded
                chunk, encoded, size = [], [], 2
            chunk.append(record)
            encoded.append(item)
            size += len(item) + 1
        if chunk:
            yield chunk, encoded


def _body(encoded: Sequence[bytes]) -> bytes:
    return b"[" + b",".join(encoded) + b"]"


class SplittingSink(PlanhatSink):
    """A sink that sends arrays and bisects a rejected array to isolate the bad items."""

    method = "PUT"
    rate_limited = True
    #: A bulk 403 lists the refused items in ``permissionErrors``: dead-letter them
    #: (docs/planhat-api.md, "Bulk upsert").
    fatal_statuses: tuple[int, ...] = (401,)
    credential = "api_token"
    #: Whether sending an array twice leaves the same result (keyed bulk upserts do).
    idempotent = True

    def url(self) -> str:
        """Where arrays go."""
        raise NotImplementedError

    def parse(self, reply: Reply, sent: int) -> BulkOutcome:
        """Read a successful reply."""
        raise NotImplementedError

    @override
    def write(self, records: list[MappedRecord]) -> None:
        for chunk, encoded in self.chunks(records, self.max_size):
            self.send_chunk(chunk, encoded)

    def send_chunk(self, chunk: list[MappedRecord], encoded: list[bytes]) -> None:
        """Send one array; split it on a whole-batch rejection; count and dead-letter."""
        body = _body(encoded)
        url = self.url()
        if self.dry_run:
            self.logger.info(
                "Dry run: would %s %s with %d items (%d bytes)",
                self.method,
                self.planhat.client_path(url),
                len(chunk),
                len(body),
            )
            self.counts.planned += 1
            self.forecast(chunk)
            return
        try:
            reply = self.planhat.client.call(
                self.method,
                url,
                data=body,
                rate_limited=self.rate_limited,
                fatal_statuses=self.fatal_statuses,
                credential=self.credential,
                idempotent=self.idempotent,
            )
        except OutcomeUnknownError as exc:
            self.counts.calls += 1
            self.outcome_unknown(chunk, str(exc))
            return
        self.counts.calls += 1
        if reply.ok or (reply.status == 403 and isinstance(reply.body, dict)):  # noqa: PLR2004
            self.apply_outcome(self.parse(reply, len(chunk)), chunk)
            return
        if reply.status in SPLIT_STATUSES and not applied_anything(reply.body):
            self.isolate(chunk, encoded, reply)
            return
        if reply.status in SPLIT_STATUSES:
            # Part of the batch was applied: never resend it; report what the body says.
            self.apply_outcome(self.parse(reply, len(chunk)), chunk)
            return
        raise PlanhatError(f"Writing {self.model_name} failed: {reply.description}")

    def forecast(self, chunk: Sequence[MappedRecord]) -> None:
        """Dry run: count what sending ``chunk`` would create or update.

        One key scan per model (cached for the run) says which keys exist; whether Planhat
        would find an update identical is unknown until it is sent.
        """
        index = self.planhat.key_index(self.route.model, self.counts)
        for record in chunk:
            exists = record.key is not None and (record.key[0] == "_id" or record.key in index)
            if exists:
                self.counts.updated += record.count
            else:
                self.counts.created += record.count

    def outcome_unknown(self, chunk: Sequence[MappedRecord], problem: str) -> None:
        """A call that is not idempotent failed after it may have been applied (subclasses)."""
        raise PlanhatError(f"Writing {len(chunk)} {self.model_name} items failed: {problem}")

    def isolate(self, chunk: list[MappedRecord], encoded: list[bytes], reply: Reply) -> None:
        """Handle a whole-batch rejection without resending the batch unchanged.

        Errors the body attributes to records reject those records and the rest is resent;
        with nothing attributable the batch is split in two, down to single records.
        """
        outcome = self.parse(reply, 0)
        by_record, _ = assign_errors(outcome.errors, chunk)
        if len(chunk) == 1:
            reasons = by_record.get(0) or [e.reason for e in outcome.errors] or [reply.description]
            self.reject(chunk[0], "; ".join(reasons))
            return
        if by_record:
            for index, reasons in by_record.items():
                self.reject(chunk[index], "; ".join(reasons))
            rest = [i for i in range(len(chunk)) if i not in by_record]
            if rest:
                self.send_chunk([chunk[i] for i in rest], [encoded[i] for i in rest])
            return
        middle = len(chunk) // 2
        self.logger.warning(
            "%s rejected a batch of %d (%s); splitting it to isolate the bad records",
            self.model_name,
            len(chunk),
            reply.description,
        )
        self.send_chunk(chunk[:middle], encoded[:middle])
        self.send_chunk(chunk[middle:], encoded[middle:])


class BulkUpsertSink(SplittingSink):
    """``PUT /<path>`` with arrays of up to 5,000 items, one call at a time.

    (docs/planhat-api.md, "Bulk upsert")
    """

    @override
    def url(self) -> str:
        return self.planhat.client.api(self.route.model.path or "")

    @override
    def parse(self, reply: Reply, sent: int) -> BulkOutcome:
        return parse_bulk_body(reply.body)


class PushSink(SplittingSink):
    """``POST <analytics>/dimensiondata/<tenant>`` or ``/analytics/bulk/<tenant>``.

    (docs/planhat-api.md, "Metrics (dimension data)", "User activities")
    """

    method = "POST"
    # The analytics host is outside the main-API budget (docs/planhat-api.md,
    # "Rate limits and retries").
    rate_limited = False
    fatal_statuses = (401, 403)
    credential = "tenant_token"
    # Pushes add what they carry: sent twice, a metric or an activity counts twice.
    idempotent = False

    @override
    def url(self) -> str:
        push_path = self.route.model.push_path or ""
        connection = self.planhat.connection
        base = connection.base_url(self.route.model.host_of(Verb.PUSH))
        return base + push_path.format(tenant_token=connection.tenant_token)

    @override
    def parse(self, reply: Reply, sent: int) -> BulkOutcome:
        return parse_push_body(reply.body, sent)

    @override
    def write(self, records: list[MappedRecord]) -> None:
        ledger = self.planhat.push_ledger
        model = self.route.model.name
        fresh: list[MappedRecord] = []
        repeated: list[MappedRecord] = []
        for record in records:
            # Without a date Planhat stamps the item when it arrives, so an identical item
            # of a later run is a new event, not a replay: only dated items can be matched.
            dated = record.payload.get("date") not in (None, "")
            if dated and ledger.already_pushed(model, record.payload):
                repeated.append(record)
            else:
                fresh.append(record)
        if repeated:
            self.counts.unchanged += sum(r.count for r in repeated)
            self.logger.info(
                "%d %s items were pushed by an earlier run (push ledger); not sent again",
                len(repeated),
                self.model_name,
            )
        super().write(fresh)

    @override
    def apply_outcome(self, outcome: BulkOutcome, chunk: Sequence[MappedRecord]) -> None:
        super().apply_outcome(outcome, chunk)
        by_record, unmatched = assign_errors(outcome.errors, chunk)
        if not unmatched:
            # Only items certainly accepted: forgetting one risks a duplicate, remembering a
            # rejected one would lose it on the rerun.
            accepted = (r.payload for i, r in enumerate(chunk) if i not in by_record)
            self.planhat.push_ledger.record(self.route.model.name, accepted)

    @override
    def outcome_unknown(self, chunk: Sequence[MappedRecord], problem: str) -> None:
        """Report the chunk's items as not known to have landed, and never send them again.

        Resending could count each item twice; not resending could lose it. The items go to
        the dead letter file, so nothing is lost silently, and into the push ledger, so a
        rerun of the same input does not resend them either.
        """
        self.logger.warning(
            "%d %s items may or may not have been recorded (%s); not resent",
            len(chunk),
            self.model_name,
            problem,
        )
        ledger = self.planhat.push_ledger
        rerun = (
            "nor will a rerun of the same input send it: it is in the push ledger"
            if ledger.path is not None
            else "but a rerun of the same input will: push_ledger_path is off"
        )
        reason = (
            f"push outcome unknown ({problem}): Planhat may already have recorded this item, "
            f"so it was not sent again ({rerun}). Check in Planhat; push it again if missing."
        )
        for record in chunk:
            self.reject(record, reason)
        ledger.record(self.route.model.name, (r.payload for r in chunk))

    @override
    def forecast(self, chunk: Sequence[MappedRecord]) -> None:
        self.counts.created += sum(r.count for r in chunk)  # every item pushed is added

    @override
    def check_required(self, records: list[MappedRecord]) -> list[MappedRecord]:
        kept = []
        for record in records:
            problem = push_item_problem(record.payload, self.route.model)
            if problem:
                self.reject(record, problem)
            else:
                kept.append(record)
        return kept

    @override
    def delete(self, records: list[MappedRecord]) -> None:
        for record in records:
            self.reject(record, f"{self.model_name} items cannot be deleted")


class SingleRecordSink(PlanhatSink):
    """Models without bulk upsert (custom fields): ``POST`` to create, ``PUT /<_id>`` to update."""

    @override
    def write(self, records: list[MappedRecord]) -> None:
        path = self.route.model.path or ""
        client = self.planhat.client
        for record in records:
            record_id = self.resolve_id(record)
            payload = {k: v for k, v in record.payload.items() if k != "_id"}
            if record_id:
                method, url = "PUT", client.api(path, record_id)
            else:
                method, url = "POST", client.api(path)
            if self.dry_run:
                self.logger.info("Dry run: would %s %s", method, self.planhat.client_path(url))
                self.counts.planned += 1
                if method == "POST":
                    self.counts.created += record.count
                else:
                    self.counts.updated += record.count
                continue
            reply = client.call(method, url, data=dumps(payload))
            self.counts.calls += 1
            if reply.ok:
                if method == "POST":
                    self.counts.created += record.count
                else:
                    self.counts.updated += record.count
                self.remember_written([record])
                body = reply.body if isinstance(reply.body, dict) else {}
                new_id = body.get("_id") if isinstance(body.get("_id"), str) else record_id
                outcome = "created" if method == "POST" else "updated"
                self.report([RecordResult(record, outcome, new_id)])
            elif 400 <= reply.status < 500:  # noqa: PLR2004
                self.reject(record, f"{method} failed: {reply.description}")
            else:
                raise PlanhatError(f"Writing {self.model_name} failed: {reply.description}")


class SkipSink(BatchSink):
    """Takes the records of a stream no model matches (``skip_unknown_streams``) and counts them."""

    def __init__(
        self,
        target: TargetPlanhat,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        """Count into the target's per-stream totals."""
        self.planhat = target
        self.counts = target.counts_for(stream_name, None)
        super().__init__(target, stream_name, schema, key_properties)
        target.register_sink(self)

    @override
    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        self.counts.received += 1
        self.counts.skipped += 1
        if self.planhat.results is not None:
            skipped = RecordResult(MappedRecord(record, record, None), "skipped", reason=SKIPPED)
            self.planhat.results.write(self.stream_name, "", [skipped])

    @override
    def process_batch(self, context: dict[str, Any]) -> None:
        return

    @override
    def clean_up(self) -> None:
        super().clean_up()
        self.planhat.finish_run(self)
