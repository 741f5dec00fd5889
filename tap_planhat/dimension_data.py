"""Metrics history (``GET /dimensiondata``): one partition per company, windows in epoch days."""

from __future__ import annotations

import datetime as dt
import math
from functools import cached_property
from typing import TYPE_CHECKING, Any

from singer_sdk.metrics import Metric, Tag
from typing_extensions import override

from planhat_common.epoch_days import epoch_day
from planhat_common.registry import get_model
from tap_planhat.progress import PartitionProgress, StreamWideCounter
from tap_planhat.streams import PlanhatStream

if TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.helpers.types import Context


class DimensionDataStream(PlanhatStream):
    """Daily metric values per company, incremental on the day.

    Not selected by default: it costs at least one call per company. The server filters on
    the window (``from`` = the bookmark's day, or ``start_date``'s), so the whole bookmark
    day is read again: values of the current day may still change.
    """

    model_name = "dimension_data"
    # One bookmark for the stream: every company is read with the same window.
    state_partitioning_keys = ()
    partitioned = True

    @cached_property
    @override
    def sort_param(self) -> str | None:
        return None  # not a documented parameter of /dimensiondata

    @cached_property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        # The SDK reads this more than once per sync, and only for a selected stream: list
        # the companies once, and say what reading them costs before it is paid.
        companies = self.needs.list_all(get_model("companies"), "_id")
        if companies:
            self.logger.warning("%s", self.cost_notice(len(companies)))
        self.progress = PartitionProgress(self.logger, self.name, len(companies))
        return [{"companyId": company["_id"]} for company in companies]

    def cost_notice(self, companies: int) -> str:
        """What this stream is about to cost, and how to leave it out."""
        per_minute = self.connection.gate.budget.per_minute
        duration = (
            f", about {math.ceil(companies / per_minute)} min at {per_minute} calls a minute"
            if per_minute and companies
            else ""
        )
        return (
            f"Stream '{self.name}' is selected: it reads {self.path} once per company, so "
            f"this run makes at least {companies:,} calls for {companies:,} companies"
            f"{duration}. Leave it out unless you need the metrics history: in Meltano, "
            f"`meltano select {self.tap_name} --exclude {self.name} '*'`; in a catalog, "
            "`selected: false` on the stream."
        )

    @cached_property
    def request_counter(self) -> StreamWideCounter:
        """This sync's request count, for all companies (progress.py)."""
        return StreamWideCounter(
            Metric.HTTP_REQUEST_COUNT, {Tag.STREAM: self.name, Tag.ENDPOINT: self.path}
        )

    @override
    def get_http_request_counter(self) -> StreamWideCounter:
        return self.request_counter

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        records = 0
        for record in super().get_records(context):
            records += 1
            yield record
        if context is not None:
            self.progress.partition_read(records)
        if context is None or self.progress.partitions >= self.progress.total:
            self.request_counter.close()

    @override
    def partition_done(self, context: Context | None) -> None:
        # Rescued values are reported once, after the last company, not once per company.
        if context is None or self.progress.partitions + 1 >= self.progress.total:
            super().partition_done(context)

    @override
    def filter_params(self, context: Context | None) -> dict[str, Any]:
        params: dict[str, Any] = {"to": epoch_day(dt.datetime.now(dt.UTC).date())}
        if context:
            params["cid"] = context["companyId"]
        start = self.get_starting_timestamp(context)
        if start is not None:
            params["from"] = epoch_day(start.astimezone(dt.UTC).date())
        return params

    @override
    def bookmark_threshold(self, context: Context | None) -> str | None:
        return None  # the server applies the window
