"""tap_planhat/paging/paginator.py: the SDK paginator over OffsetPager, and pages in transit."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from singer_sdk.streams import RESTStream

from planhat_common.paging import OffsetPager
from tap_planhat.paging.paginator import (
    PageMismatchError,
    PlanhatPaginator,
    UnreadablePageError,
    ValidatedPages,
)
from tap_planhat.paging.read_ahead import ReadAhead
from tap_planhat.streams import PlanhatStream
from tests.tap.helpers import run_tap, tap_config


def response(
    body: bytes = b"[]", url: str = "http://127.0.0.1/companies?offset=0"
) -> requests.Response:
    reply = requests.Response()
    reply.status_code = 200
    reply.url = url
    reply._content = body
    return reply


def test_a_page_is_taken_for_the_response_it_was_decoded_from() -> None:
    pages = ValidatedPages("companies")
    first, second = response(b'[{"_id": "a"}]'), response(b'[{"_id": "b"}]')
    pages.decode(first)
    pages.decode(second)
    assert pages.take(second) == [{"_id": "b"}]
    assert pages.take(first) == [{"_id": "a"}]


@pytest.mark.parametrize(
    ("body", "problem"),
    [(b'[{"_id": "a"', "malformed JSON"), (b'{"error": "busy"}', "not a JSON array")],
)
def test_a_body_that_is_not_a_page_is_unreadable(body: bytes, problem: str) -> None:
    pages = ValidatedPages("companies")
    unreadable = response(body)
    with pytest.raises(UnreadablePageError, match=problem):
        pages.decode(unreadable)
    with pytest.raises(PageMismatchError):
        pages.take(unreadable)


def test_a_response_without_a_decoded_page_is_an_error_naming_the_stream() -> None:
    pages = ValidatedPages("companies")
    validated = response(b'[{"_id": "a"}]')
    pages.decode(validated)
    with pytest.raises(PageMismatchError, match=r"Stream 'companies'.*offset=0"):
        pages.take(response())
    pages.take(validated)
    with pytest.raises(PageMismatchError, match="Stream 'companies'"):
        pages.take(validated)  # taken once only


def test_the_paginator_follows_the_pager_the_stream_advanced() -> None:
    pager = OffsetPager(100)
    paginator = PlanhatPaginator(pager)
    assert paginator.current_value == 0

    pager.page_read(100)
    paginator.advance(response())
    assert (paginator.current_value, paginator.finished) == (100, False)

    pager.page_read(40)
    assert not paginator.continue_if_empty(response())
    paginator.advance(response())
    assert paginator.finished


def test_a_page_of_filtered_out_records_is_not_the_end() -> None:
    pager = OffsetPager(100)
    paginator = PlanhatPaginator(pager)
    pager.page_read(100)
    assert paginator.continue_if_empty(response())
    pager.page_read(100, stop=True)
    assert not paginator.continue_if_empty(response())


def test_a_page_that_does_not_match_the_response_stops_the_stream_loudly(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if validate_response had not decoded the page parse_response is given.
    def status_only(self: PlanhatStream, reply: requests.Response) -> None:
        RESTStream.validate_response(self, reply)

    monkeypatch.setattr(PlanhatStream, "validate_response", status_only)
    with pytest.raises(PageMismatchError, match="Stream 'licenses'"):
        run_tap(tap_config(sandbox), streams={"licenses"})


def test_each_next_page_is_read_ahead_and_used_by_the_sdk_loop(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []
    start = ReadAhead.start

    def recording(self: ReadAhead[Any, Any], key: Any, *args: Any) -> None:
        started.append(key)
        start(self, key, *args)

    monkeypatch.setattr(ReadAhead, "start", recording)
    # One page ahead at a time (tests/tap/test_concurrent_reads.py covers several).
    config = tap_config(sandbox, page_size=5, max_parallel_requests=1)
    output = run_tap(config, streams={"licenses"})

    assert output.ids("licenses") == {r["_id"] for r in sandbox.records("licenses")}
    offsets = [r["query"]["offset"] for r in sandbox.requests_log() if r["path"] == "/licenses"]
    # Read ahead exactly as the SDK builds them: no page is asked for twice.
    assert offsets == ["0", "5", "10", "15", "20"]
    assert [parse_qs(urlsplit(url).query)["offset"] for url in started] == [
        ["5"],
        ["10"],
        ["15"],
        ["20"],
    ]
