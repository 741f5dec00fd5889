"""Metrics history (``GET /dimensiondata``): one partition per company, windows in epoch days."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from planhat_common.epoch_days import epoch_day
from planhat_common.registry import get_model
from tap_planhat.streams import PlanhatStream

if TYPE_CHECKING:
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

    @cached_property
    @override
    def sort_param(self) -> str | None:
        return None  # not a documented parameter of /dimensiondata

    @cached_property
    @override
    def partitions(self) -> list[dict[str, Any]] | None:
        # The SDK reads this more than once per sync: list the companies once.
        companies = self.planhat_tap.list_all(get_model("companies"), select="_id")
        return [{"companyId": company["_id"]} for company in companies]

    @override
    def filter_params(self, context: Context | None) -> dict[str, Any]:
        params: dict[str, Any] = {"to": epoch_day(dt.datetime.now(dt.timezone.utc).date())}
        if context:
            params["cid"] = context["companyId"]
        start = self.get_starting_timestamp(context)
        if start is not None:
            params["from"] = epoch_day(start.astimezone(dt.timezone.utc).date())
        return params

    @override
    def bookmark_threshold(self, context: Context | None) -> str | None:
        return None  # the server applies the window
