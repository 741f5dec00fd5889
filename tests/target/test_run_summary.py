"""Per-stream counts (updated by the reader and the writer thread) and the summary table."""

from __future__ import annotations

import sys
import threading

import pytest

from target_planhat.mapping.routing import Router
from target_planhat.outcomes.counts import COLUMNS, RunSummary, StreamCounts, summary_table


def test_counts_add_and_snapshot() -> None:
    counts = StreamCounts()
    counts.add(received=3, created=2)
    counts.add(rejected=1)
    counts.count_call()
    snapshot = counts.snapshot()
    assert set(snapshot) == set(COLUMNS)
    assert {k: v for k, v in snapshot.items() if v} == {
        "received": 3,
        "created": 2,
        "rejected": 1,
        "calls": 1,
    }
    snapshot["created"] = 99  # a copy: the counts are not changed through it
    assert counts.snapshot()["created"] == 2


def test_counts_refuse_a_column_that_does_not_exist() -> None:
    with pytest.raises(KeyError):
        StreamCounts().add(creatd=1)  # type: ignore[call-arg]


def test_two_threads_updating_one_stream_lose_no_count() -> None:
    # As the reader thread counts records received while the writer thread counts what
    # Planhat answered; a thread switch every few bytecodes makes a lost update likely
    # without the lock.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        counts = StreamCounts()
        rounds = 20_000
        start = threading.Barrier(2)

        def reader() -> None:
            start.wait()
            for _ in range(rounds):
                counts.add(received=1, created=1)

        def writer() -> None:
            start.wait()
            for _ in range(rounds):
                counts.add(created=1)
                counts.count_call()

        threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    snapshot = counts.snapshot()
    assert (snapshot["received"], snapshot["created"], snapshot["calls"]) == (
        rounds,
        2 * rounds,
        rounds,
    )


def test_run_summary_shares_one_counter_per_stream_and_totals_rejections() -> None:
    router = Router({})
    summary = RunSummary()
    companies = summary.counts_for("companies", router.route_for("companies"))
    assert summary.counts_for("companies", router.route_for("companies")) is companies
    skipped = summary.counts_for("mystery", None)
    metrics = summary.counts_for("metrics", router.route_for("metrics"))
    companies.add(received=2, created=1, rejected=1)
    skipped.add(received=4, skipped=4)
    metrics.add(received=1, rejected=2)
    assert summary.rejected() == 3

    lines = summary.table(dry_run=False).splitlines()
    assert lines[0].split() == [
        "stream",
        "model",
        "mode",
        "received",
        "created",
        "updated",
        "unchanged",
        "deleted",
        "rejected",
        "skipped",
        "calls",
    ]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["companies"][:3] == ["companies", "Company", "upsert"]
    assert rows["companies"][3:] == ["2", "1", "0", "0", "0", "1", "0", "0"]
    assert rows["metrics"][:3] == ["metrics", "DimensionData", "push"]
    assert rows["mystery"][:3] == ["mystery", "(skipped)", "-"]
    assert rows["TOTAL"] == ["TOTAL", "7", "1", "0", "0", "0", "3", "4", "0"]
    assert list(rows) == ["companies", "metrics", "mystery", "TOTAL"]


def test_dry_run_table_adds_the_planned_calls() -> None:
    counts = StreamCounts()
    counts.add(planned=2, calls=1)
    table = summary_table({"companies": ("Company", "upsert", counts.snapshot())}, dry_run=True)
    header, _, row, total = table.splitlines()
    assert header.split()[-1] == "planned"
    assert row.split()[-2:] == ["1", "2"]
    assert total.split()[-2:] == ["1", "2"]
