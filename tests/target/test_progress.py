"""One progress line per written batch, and none of the SDK's "sink is full" lines."""

from __future__ import annotations

import logging
from typing import Any

from target_planhat.outcomes.counts import FullSinkNoticeFilter, StreamCounts, StreamProgress
from tests.target.target_helpers import record, run_target, schema

STRING = {"type": ["string", "null"]}
PROPS = {"externalId": STRING, "name": STRING}


def _companies(names: dict[str, str | None]) -> list[dict[str, Any]]:
    rows = [
        record("companies", {"externalId": key, **({"name": name} if name else {})})
        for key, name in names.items()
    ]
    return [schema("companies", PROPS, keys=["externalId"]), *rows]


def _line(*, done: int, created: int, calls: str, unchanged: int = 0, rejected: int = 0) -> str:
    return (
        f"Stream 'companies': {done} records done: {created} created, 0 updated, "
        f"{unchanged} unchanged, {rejected} rejected; {calls}"
    )


def _progress(caplog: Any) -> list[str]:
    return [r.getMessage() for r in caplog.records if "records done" in r.getMessage()]


def test_each_batch_logs_records_done_calls_and_rejects_so_far(
    config: dict[str, Any], caplog: Any
) -> None:
    config["batch_size_rows"] = 2
    config["max_rejected"] = 5
    # PRG-3 has no name: Planhat refuses to create it (a reject in the second batch).
    names = {"PRG-0": "A", "PRG-1": "B", "PRG-2": "C", "PRG-3": None, "PRG-4": "E"}
    with caplog.at_level(logging.INFO):
        run_target(config, _companies(names))
    assert _progress(caplog) == [
        _line(done=2, created=2, rejected=0, calls="1 call"),
        _line(done=4, created=3, rejected=1, calls="2 calls"),
        _line(done=5, created=4, rejected=1, calls="3 calls"),
    ]
    caplog.clear()

    # Rerun: four rows the sync ledger leaves out, read before two to create (a full batch).
    # The SDK's own line said "Current size is '6'" for this batch of 2.
    names = {"PRG-0": "A", "PRG-1": "B", "PRG-2": "C", "PRG-4": "E", "PRG-3": "D", "PRG-5": "F"}
    with caplog.at_level(logging.INFO):
        run_target(config, _companies(names))
    assert _progress(caplog) == [_line(done=6, created=2, unchanged=4, calls="1 call")]
    assert not [r for r in caplog.records if "is full" in r.getMessage()]


def test_dry_run_lines_say_what_would_be_done(config: dict[str, Any], caplog: Any) -> None:
    config["dry_run"] = True
    with caplog.at_level(logging.INFO):
        run_target(config, _companies({"DRY-1": "One", "DRY-2": "Two"}))
    expected = (
        "Stream 'companies' (dry run): 2 records done: 2 to create, 0 to update, 0 unchanged, "
        "0 rejected; 1 write call planned, 1 read call"
    )
    assert _progress(caplog) == [expected]


def test_no_line_when_nothing_was_done_since_the_last() -> None:
    counts = StreamCounts()
    progress = StreamProgress("s", counts, logging.getLogger("test"), dry_run=False)
    assert progress.line() is None
    counts.add(updated=3, deleted=2)
    assert progress.line() == (
        "Stream 's': 5 records done: 0 created, 3 updated, 0 unchanged, 2 deleted, 0 rejected; "
        "0 calls"
    )
    assert progress.line() is None


def test_the_filter_drops_only_the_sdks_full_sink_line() -> None:
    def log_record(msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord("target-planhat", logging.INFO, __file__, 1, msg, args, None)

    full = log_record(
        "Target sink for '%s' is full. Current size is '%s'. Draining...", "companies", 6000
    )
    assert not FullSinkNoticeFilter().filter(full)
    assert FullSinkNoticeFilter().filter(log_record("Target sink for %s", "x"))
