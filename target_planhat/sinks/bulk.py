"""Sinks that send arrays: bulk upserts, and the base the push sink shares with them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import override

from planhat_common.errors import PlanhatError
from planhat_common.http import OutcomeUnknownError
from target_planhat.outcomes.attribution import RecordResult
from target_planhat.outcomes.bulk_answers import (
    BulkOutcome,
    applied_anything,
    assign_errors,
    parse_bulk_body,
)
from target_planhat.sinks.base import PlanhatSink, path_for_log

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from planhat_common.client import Reply
    from target_planhat.mapping.payloads import MappedRecord

#: Statuses after which a batch is split in two and each half resent (never resent as is).
SPLIT_STATUSES = frozenset({400, 413, 422})


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
        cap = self.services.settings.max_batch_bytes
        for chunk, encoded in chunks(records, self.max_size, cap, self.outcomes.reject):
            self.send_chunk(chunk, encoded)

    def send_chunk(self, chunk: list[MappedRecord], encoded: list[bytes]) -> None:
        """Send one array; split it on a whole-batch rejection; count and dead-letter."""
        body = _body(encoded)
        url = self.url()
        if self.dry_run:
            self.logger.info(
                "Dry run: would %s %s with %d items (%d bytes)",
                self.method,
                path_for_log(url, self.services.connection.secrets),
                len(chunk),
                len(body),
            )
            self.counts.add(planned=1)
            self.forecast(chunk)
            return
        try:
            reply = self.services.client.call(
                self.method,
                url,
                data=body,
                rate_limited=self.rate_limited,
                fatal_statuses=self.fatal_statuses,
                credential=self.credential,
                idempotent=self.idempotent,
            )
        except OutcomeUnknownError as exc:
            self.counts.count_call()
            self.outcome_unknown(chunk, str(exc))
            return
        self.counts.count_call()
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

    def apply_outcome(self, outcome: BulkOutcome, chunk: Sequence[MappedRecord]) -> None:
        """Count an outcome and dead-letter its errors, matched to records where possible."""
        self.deletes.note_written(outcome.upserted_ids)
        self.outcomes.apply(outcome, chunk)

    def forecast(self, chunk: Sequence[MappedRecord]) -> None:
        """Dry run: count what sending ``chunk`` would create or update.

        One key scan per model (cached for the run) says which keys exist; whether Planhat
        would find an update identical is unknown until it is sent.
        """
        index = self.services.lookups.key_index(self.route.model, self.counts.count_call)
        forecast = []
        for record in chunk:
            exists = record.key is not None and (record.key[0] == "_id" or record.key in index)
            forecast.append(RecordResult(record, "updated" if exists else "created"))
        self.outcomes.settle(forecast)

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
            self.outcomes.reject(chunk[0], "; ".join(reasons))
            return
        if by_record:
            for index, reasons in by_record.items():
                self.outcomes.reject(chunk[index], "; ".join(reasons))
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
        return self.services.client.api(self.route.model.path or "")

    @override
    def parse(self, reply: Reply, sent: int) -> BulkOutcome:
        return parse_bulk_body(reply.body)


def chunks(
    records: Sequence[MappedRecord],
    max_items: int,
    max_bytes: int,
    reject: Callable[[MappedRecord, str], None],
) -> Iterator[tuple[list[MappedRecord], list[bytes]]]:
    """Split records into arrays under both caps; ``reject`` a record too big to send at all."""
    chunk: list[MappedRecord] = []
    encoded: list[bytes] = []
    size = 2
    for record in records:
        item = record.encode()
        if len(item) + 2 > max_bytes:
            reject(record, f"record is {len(item)} bytes, over max_batch_bytes={max_bytes}")
            continue
        if chunk and (len(chunk) >= max_items or size + len(item) + 1 > max_bytes):
            yield chunk, encoded
            chunk, encoded, size = [], [], 2
        chunk.append(record)
        encoded.append(item)
        size += len(item) + 1
    if chunk:
        yield chunk, encoded


def _body(encoded: Sequence[bytes]) -> bytes:
    return b"[" + b",".join(encoded) + b"]"
