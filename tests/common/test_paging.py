"""planhat_common/paging.py (offsets, the short-page rule) and the tap's reading ahead, no HTTP."""

from __future__ import annotations

import threading

import pytest

from planhat_common.paging import OffsetPager, PageOutcome, offset_pages
from tap_planhat.paging.read_ahead import ReadAhead


def read(pager: OffsetPager, *sizes: int) -> list[tuple[int, bool]]:
    """(offset asked, more after it) for pages of ``sizes`` records."""
    steps = []
    for size in sizes:
        offset = pager.offset
        steps.append((offset, pager.page_read(size).more))
    return steps


def test_offsets_advance_by_records_received_not_by_the_limit() -> None:
    # A server capping silently at 100 while 5,000 are asked.
    pager = OffsetPager(5000)
    assert read(pager, 100, 100, 50) == [(0, True), (100, True), (200, False)]
    assert pager.offset == 250
    assert pager.finished


def test_a_full_page_may_be_followed_by_more_and_an_empty_page_ends() -> None:
    pager = OffsetPager(2000)
    assert read(pager, 2000, 0) == [(0, True), (2000, False)]
    assert pager.last == PageOutcome(0, more=False)


@pytest.mark.parametrize(("size", "more"), [(37, False), (1999, False), (300, True), (1000, True)])
def test_a_short_first_page_is_confirmed_only_when_it_could_be_a_cap(size: int, more: bool) -> None:
    assert OffsetPager(2000).page_read(size).more is more


def test_after_a_capped_page_a_page_as_large_goes_on_and_a_shorter_one_ends() -> None:
    pager = OffsetPager(2000)
    assert read(pager, 500, 500, 499) == [(0, True), (500, True), (1000, False)]


def test_stop_ends_the_list_even_after_a_full_page() -> None:
    pager = OffsetPager(100)
    assert pager.page_read(100, stop=True) == PageOutcome(100, more=False)
    assert pager.finished
    assert pager.offset == 100


def test_nothing_is_read_yet_so_the_pager_is_not_finished() -> None:
    pager = OffsetPager(100)
    assert not pager.finished
    assert pager.offset == 0


def test_offset_pages_reads_a_capped_list_completely_in_order() -> None:
    records = list(range(250))
    asked: list[int] = []

    def fetch(offset: int) -> list[int]:
        asked.append(offset)
        return records[offset : offset + 100]  # the server's cap, below the limit asked

    pages = list(offset_pages(fetch, 2000))

    assert [r for page in pages for r in page] == records
    assert asked == [0, 100, 200]


def test_offset_pages_asks_nothing_more_after_a_short_first_page() -> None:
    asked: list[int] = []

    def fetch(offset: int) -> list[int]:
        asked.append(offset)
        return [1, 2, 3]

    assert list(offset_pages(fetch, 100)) == [[1, 2, 3]]
    assert asked == [0]


# -- read-ahead ------------------------------------------------------------------------------


class Calls:
    """A fetch function that records its calls and their threads."""

    def __init__(self) -> None:
        self.made: list[str] = []
        self.threads: list[str] = []

    def __call__(self, key: str) -> str:
        self.made.append(key)
        self.threads.append(threading.current_thread().name)
        if key.startswith("fail"):
            raise ValueError(key)
        return f"page {key}"


def test_a_page_read_ahead_is_sent_once_in_the_background() -> None:
    calls = Calls()
    ahead: ReadAhead[str, str] = ReadAhead("companies")
    try:
        ahead.start("b", calls, "b")
        assert ahead.get("b", calls, "b") == "page b"
    finally:
        ahead.close()
    assert calls.made == ["b"]
    assert calls.threads[0].startswith("read-ahead-companies")


def test_an_error_of_a_page_read_ahead_is_raised_when_it_is_asked_for() -> None:
    ahead: ReadAhead[str, str] = ReadAhead("companies")
    try:
        ahead.start("fail", Calls(), "fail")
        with pytest.raises(ValueError, match="fail"):
            ahead.get("fail", Calls(), "fail")
    finally:
        ahead.close()


def test_asking_for_another_key_drops_what_was_read_ahead_and_fetches_now() -> None:
    calls = Calls()
    ahead: ReadAhead[str, str] = ReadAhead("companies")
    try:
        ahead.start("fail-stale", calls, "fail-stale")  # its error belongs to nobody
        assert ahead.get("c", calls, "c") == "page c"
        assert ahead.get("fail-stale", lambda: "sent again") == "sent again"
    finally:
        ahead.close()
    assert calls.made == ["fail-stale", "c"]
    assert calls.threads[1] == threading.current_thread().name


def test_no_more_than_depth_requests_are_in_flight() -> None:
    calls = Calls()
    ahead: ReadAhead[str, str] = ReadAhead("companies", max_depth=2)
    ahead.depth = 2
    try:
        for key in ("a", "b", "c", "a"):
            ahead.start(key, calls, key)
        assert ahead.get("a", calls, "a") == "page a"
        assert ahead.get("b", calls, "b") == "page b"
        assert ahead.get("c", calls, "c") == "page c"
    finally:
        ahead.close()
    assert sorted(calls.made) == ["a", "b", "c"]


def test_close_waits_for_requests_nobody_asked_for() -> None:
    release = threading.Event()
    finished: list[str] = []

    def slow(key: str) -> str:
        release.wait(5)
        finished.append(key)
        return key

    ahead: ReadAhead[str, str] = ReadAhead("companies")
    ahead.start("x", slow, "x")
    threading.Timer(0.05, release.set).start()
    ahead.close()
    assert finished == ["x"]
