"""tap_planhat/paging/page_filter.py: de-duplication and the incremental bookmark, by page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tap_planhat.paging.page_filter import PageFilter, incremental_threshold, normalise_timestamp

THRESHOLD = "2024-01-01T00:00:00.000000+00:00"


def rec(record_id: str, updated: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"_id": record_id}
    if updated is not None:
        record["updatedAt"] = updated
    return record


def ids(records: list[dict[str, Any]]) -> list[str]:
    return [r["_id"] for r in records]


def test_an_id_repeated_on_the_next_page_is_kept_once() -> None:
    records = PageFilter(None, None)
    assert ids(records.select([rec("a"), rec("b"), rec("a")]).records) == ["a", "b"]
    assert ids(records.select([rec("b"), rec("c")]).records) == ["c"]
    # Two pages of ids are remembered, not the whole run: memory stays flat.
    assert ids(records.select([rec("a"), rec("d")]).records) == ["a", "d"]


def test_run_ids_are_collected_only_when_asked() -> None:
    assert PageFilter(None, None).run_ids is None
    records = PageFilter(None, None, collect_ids=True)
    records.select([rec("a"), rec("b")])
    records.select([rec("b"), rec("c")])
    assert records.run_ids == {"a", "b", "c"}


def test_without_a_threshold_every_record_is_kept_with_its_key_normalised() -> None:
    records = PageFilter("updatedAt", None)
    selection = records.select([rec("a", "2023-01-01T00:00:00.000Z"), rec("b", "2025-01-01")])
    assert [r["updatedAt"] for r in selection.records] == [
        "2023-01-01T00:00:00.000000+00:00",
        "2025-01-01T00:00:00.000000+00:00",
    ]
    assert not selection.reached_bookmark


def test_newest_first_a_page_past_the_threshold_reaches_the_bookmark() -> None:
    records = PageFilter("updatedAt", THRESHOLD)
    first = records.select([rec("a", "2024-03-01T00:00:00.000Z"), rec("b", "2024-02-01")])
    assert ids(first.records) == ["a", "b"]
    assert not first.reached_bookmark

    second = records.select([rec("c", "2024-01-01T00:00:00.000Z"), rec("d", "2023-12-31")])
    assert ids(second.records) == ["c"]  # at the threshold is kept, older is not
    assert second.reached_bookmark
    assert not second.sort_broken


def test_a_rising_key_means_the_sort_is_ignored_so_the_bookmark_ends_nothing() -> None:
    records = PageFilter("updatedAt", THRESHOLD)
    first = records.select([rec("a", "2024-02-01"), rec("b", "2023-06-01"), rec("c", "2024-05-01")])
    assert ids(first.records) == ["a", "c"]  # older ones are still left out
    assert first.sort_broken
    assert not first.reached_bookmark
    assert not records.sort_honoured

    second = records.select([rec("d", "2023-01-01"), rec("e", "2024-06-01")])
    assert ids(second.records) == ["e"]
    assert not second.sort_broken  # said once
    assert not second.reached_bookmark


def test_records_without_a_string_key_are_kept_and_not_compared() -> None:
    records = PageFilter("updatedAt", THRESHOLD)
    page = [rec("a", "2024-02-01"), {"_id": "b", "updatedAt": None}, rec("c")]
    selection = records.select(page)
    assert ids(selection.records) == ["a", "b", "c"]
    assert records.sort_honoured


def test_the_threshold_is_the_start_minus_the_lookback_in_utc() -> None:
    start = dt.datetime(2024, 1, 1, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert incremental_threshold(start, 5) == "2023-12-31T23:55:00.000000+00:00"
    assert incremental_threshold(start, 0.5) == "2023-12-31T23:59:30.000000+00:00"
    assert incremental_threshold(None, 5) is None
    # A bookmark as saved: ISO text, UTC unless it says otherwise.
    assert incremental_threshold("2024-01-01T02:00:00+02:00", 5) == (
        "2023-12-31T23:55:00.000000+00:00"
    )
    assert incremental_threshold("2024-01-01T00:00:00", 5) == "2023-12-31T23:55:00.000000+00:00"
    assert incremental_threshold("not a date", 5) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-06T07:08:09.123Z", "2024-05-06T07:08:09.123000+00:00"),
        ("2024-05-06T07:08:09Z", "2024-05-06T07:08:09.000000+00:00"),
        ("2024-05-06T09:08:09.5+02:00", "2024-05-06T07:08:09.500000+00:00"),
        ("2024-05-06", "2024-05-06T00:00:00.000000+00:00"),
        ("not a date", "not a date"),
    ],
)
def test_replication_keys_get_one_utc_format(value: str, expected: str) -> None:
    assert normalise_timestamp(value) == expected
