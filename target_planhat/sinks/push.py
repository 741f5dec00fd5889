"""The push sink: metrics and user activities, appended on the analytics host."""

from __future__ import annotations

from typing import TYPE_CHECKING

from typing_extensions import override

from planhat_common.registry import Verb
from target_planhat.outcomes.attribution import RecordResult
from target_planhat.outcomes.bulk_answers import BulkOutcome, assign_errors, parse_push_body
from target_planhat.sinks.bulk import SplittingSink

if TYPE_CHECKING:
    from collections.abc import Sequence

    from planhat_common.client import Reply
    from target_planhat.mapping.payloads import MappedRecord


PUSHED_BEFORE = "not sent: an earlier run pushed it (push ledger)"


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
        connection = self.services.connection
        base = connection.base_url(self.route.model.host_of(Verb.PUSH))
        return base + push_path.format(tenant_token=connection.tenant_token)

    @override
    def parse(self, reply: Reply, sent: int) -> BulkOutcome:
        return parse_push_body(reply.body, sent)

    @override
    def write(self, records: list[MappedRecord]) -> None:
        ledger = self.services.files.push_ledger
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
        for record in repeated:
            self.outcomes.left_unchanged(record, None, PUSHED_BEFORE)
        if repeated:
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
            self.services.files.push_ledger.record(self.route.model.name, accepted)

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
        ledger = self.services.files.push_ledger
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
            self.outcomes.reject(record, reason)
        ledger.record(self.route.model.name, (r.payload for r in chunk))

    @override
    def forecast(self, chunk: Sequence[MappedRecord]) -> None:
        # Every item pushed is added.
        self.outcomes.settle([RecordResult(record, "created") for record in chunk])
