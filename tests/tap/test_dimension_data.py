"""dimension_data: metrics history per company, windows in epoch days, incremental on the day."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from planhat_common.epoch_days import epoch_day
from tap_planhat.progress import PROGRESS_SECONDS, PartitionProgress
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


# -- its cost, shown before it is paid; progress instead of a line per company -----------------


class _RequestsSoFar(logging.Handler):
    """Notes, for each warning, how many /dimensiondata calls the sandbox had answered."""

    def __init__(self, sandbox: Any) -> None:
        super().__init__(logging.WARNING)
        self.sandbox = sandbox
        self.seen: list[tuple[str, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        calls = [r for r in self.sandbox.requests_log() if r["path"] == "/dimensiondata"]
        self.seen.append((record.getMessage(), len(calls)))


def test_the_cost_is_named_once_before_the_first_call(sandbox: Any) -> None:
    companies = len(sandbox.records("companies"))
    notes = _RequestsSoFar(sandbox)
    logger = logging.getLogger("tap-planhat")
    logger.addHandler(notes)
    try:
        run_tap(tap_config(sandbox, max_requests_per_minute=1200), streams={"dimension_data"})
    finally:
        logger.removeHandler(notes)

    assert len(notes.seen) == 1
    message, calls_before = notes.seen[0]
    assert calls_before == 0
    assert f"at least {companies} calls for {companies} companies" in message
    assert "about 1 min at 1200 calls a minute" in message
    assert "meltano select tap-planhat --exclude dimension_data '*'" in message  # as the README


def test_one_progress_line_and_no_line_per_company(sandbox: Any, caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    output = run_tap(tap_config(sandbox), streams={"dimension_data"})

    companies = len(sandbox.records("companies"))
    records = len(output.records["dimension_data"])
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if m.startswith("Pagination stopped")]
    starts = [m for m in messages if m.startswith("Starting incremental sync of 'dimension_data'")]
    assert len(starts) == 1
    counts = [m for m in messages if '"http_request_count"' in m and '"dimension_data"' in m]
    assert len(counts) == 1  # the stream's calls, not one METRIC line per company
    assert json.loads(counts[0].removeprefix("METRIC: "))["value"] == companies
    progress = [m for m in messages if m.startswith("dimension_data: ")]
    # A short run: no line while it runs, one at the end.
    assert progress == [f"dimension_data: {companies} companies read, {records} records"]


def test_progress_lines_come_every_few_seconds_at_most(caplog: Any) -> None:
    caplog.set_level(logging.INFO)
    now = [0.0]

    def clock() -> float:
        now[0] += 2.0  # each company takes two seconds
        return now[0]

    progress = PartitionProgress(logging.getLogger("t"), "dimension_data", 7, clock=clock)
    for records in (3, 0, 4, 1, 0, 2, 5):
        progress.partition_read(records)

    assert [r.getMessage() for r in caplog.records] == [
        "dimension_data: company 3 of 7, 7 records",  # 6 s after the start
        "dimension_data: company 6 of 7, 10 records",
        "dimension_data: 7 companies read, 15 records",
    ]
    assert PROGRESS_SECONDS <= 5
