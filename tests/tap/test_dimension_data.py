"""dimension_data: metrics history per company, windows in epoch days, incremental on the day."""

from __future__ import annotations

import datetime as dt
from typing import Any

from planhat_common.epoch_days import epoch_day
from tests.tap.helpers import run_tap, tap_config

START = "2023-12-30T00:00:00Z"


def test_window_per_company_from_start_date(sandbox: Any) -> None:
    output = run_tap(tap_config(sandbox, start_date=START), streams={"dimension_data"})
    expected = {r["_id"] for r in sandbox.records("dimension_data") if r["time"][:10] >= START[:10]}
    assert expected
    assert output.ids("dimension_data") == expected

    reads = [r for r in sandbox.requests_log() if r["path"] == "/dimensiondata"]
    companies = {r["_id"] for r in sandbox.records("companies")}
    assert {r["query"]["cid"] for r in reads} == companies
    first_day = str(epoch_day(dt.date(2023, 12, 30)))
    assert {r["query"]["from"] for r in reads} == {first_day}
    assert len(reads) == len(companies)  # one short page per company
    listings = [r for r in sandbox.requests_log() if r["path"] == "/companies"]
    assert len(listings) == 1  # the partitions, listed once


def test_second_run_starts_at_the_bookmark_day(sandbox: Any) -> None:
    config = tap_config(sandbox, start_date="2023-01-01T00:00:00Z")
    first = run_tap(config, streams={"dimension_data"})
    assert first.ids("dimension_data") == {r["_id"] for r in sandbox.records("dimension_data")}
    bookmark = first.final_state["bookmarks"]["dimension_data"]["replication_key_value"]
    newest_day = max(r["time"] for r in sandbox.records("dimension_data"))[:10]
    assert bookmark.startswith(newest_day)

    second = run_tap(config, state=first.final_state, streams={"dimension_data"})
    # The bookmark's whole day is read again: today's values may still change.
    expected = {
        r["_id"] for r in sandbox.records("dimension_data") if r["time"].startswith(newest_day)
    }
    assert second.ids("dimension_data") == expected


def test_not_selected_by_default(sandbox: Any) -> None:
    output = run_tap(tap_config(sandbox))
    assert "dimension_data" not in output.records
    assert not [r for r in sandbox.requests_log() if r["path"] == "/dimensiondata"]
