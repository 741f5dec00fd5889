"""Several list calls in flight (max_parallel_requests) change nothing but the wall clock.

Against the real sandbox over sockets: the same records in the same order and the same STATE
as one call at a time; each page asked for once; calls past the end of a list bounded by the
setting; pages parsed on the main thread in page order (where de-duplication happens); a
tenant answering 429 slows the tap down instead of failing it.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import Counter
from contextlib import redirect_stdout
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tap_planhat.streams import PlanhatStream
from tap_planhat.tap import TapPlanhat
from tests.tap.helpers import TapOutput, parse_singer, tap_config

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import pytest
    import requests

    from planhat_sandbox.server import SandboxServer

SIZES = {"companies": 103, "endusers": 97, "licenses": 40}
PAGE = 5
PARALLEL = 6


def sync(
    config: dict[str, Any], streams: set[str], state: dict[str, Any] | None = None
) -> tuple[TapOutput, TapPlanhat]:
    """Run the tap in-process over ``streams``; its output and the tap (for its call gate)."""
    tap = TapPlanhat(config=config, state=state, parse_env_config=False)
    for stream in tap.streams.values():
        stream.selected = stream.name in streams
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        tap.sync_all()
    return parse_singer(buffer.getvalue()), tap


def offsets(sandbox: SandboxServer, path: str) -> list[int]:
    return [int(r["query"]["offset"]) for r in sandbox.requests_log() if r["path"] == path]


def test_records_and_state_equal_a_read_one_call_at_a_time(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(model_records=SIZES)
    streams = set(SIZES)
    one, _ = sync(tap_config(sandbox, page_size=PAGE, max_parallel_requests=1), streams)
    several, _ = sync(tap_config(sandbox, page_size=PAGE, max_parallel_requests=8), streams)
    for stream, count in SIZES.items():
        assert len(several.records[stream]) == count
        assert several.records[stream] == one.records[stream], stream  # order included
    assert several.states == one.states


def test_each_page_is_asked_for_once_and_calls_past_the_end_are_bounded(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(model_records=SIZES)
    sync(tap_config(sandbox, page_size=PAGE, max_parallel_requests=PARALLEL), set(SIZES))
    for stream, count in SIZES.items():
        asked = offsets(sandbox, f"/{stream}")
        assert len(asked) == len(set(asked)), f"{stream}: a page asked for twice"
        needed = set(range(0, count + 1, PAGE))  # the sequential read's pages
        assert needed <= set(asked), stream
        assert len(set(asked) - needed) < PARALLEL, stream


def test_calls_overlap_when_the_server_is_slow_and_stay_within_the_setting(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(model_records={"companies": 80}, faults={"latency_ms": 60})
    config = tap_config(sandbox, page_size=PAGE, max_parallel_requests=4)
    output, tap = sync(config, {"companies"})
    assert len(output.records["companies"]) == 80
    assert 2 <= tap.connection.gate.in_flight.peak <= 4


def test_more_calls_in_flight_than_urllib3s_default_pool_keep_their_connections(
    sandbox_factory: Callable[..., SandboxServer], caplog: pytest.LogCaptureFixture
) -> None:
    # urllib3 keeps 10 connections per host unless told; the stream's session is told.
    sandbox = sandbox_factory(model_records={"companies": 150}, faults={"latency_ms": 60})
    config = tap_config(sandbox, page_size=PAGE, max_parallel_requests=14)
    with caplog.at_level(logging.WARNING, logger="urllib3"):
        output, tap = sync(config, {"companies"})
    assert len(output.records["companies"]) == 150
    assert tap.connection.gate.in_flight.peak > 10
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


def test_pages_are_parsed_on_the_main_thread_in_page_order(
    sandbox_factory: Callable[..., SandboxServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = sandbox_factory(model_records=SIZES, faults={"latency_ms": 20})
    parsed: list[tuple[str, int, bool]] = []
    parse = PlanhatStream.parse_response

    def recording(self: PlanhatStream, response: requests.Response) -> Iterable[dict[str, Any]]:
        offset = int(parse_qs(urlsplit(response.url).query)["offset"][0])
        parsed.append((self.name, offset, threading.current_thread() is threading.main_thread()))
        return parse(self, response)

    monkeypatch.setattr(PlanhatStream, "parse_response", recording)
    sync(tap_config(sandbox, page_size=PAGE, max_parallel_requests=PARALLEL), set(SIZES))
    assert all(main for _, _, main in parsed)
    for stream, count in SIZES.items():
        assert [o for s, o, _ in parsed if s == stream] == list(range(0, count + 1, PAGE))


def test_an_incremental_run_stops_within_one_window_of_the_bookmark(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(model_records={"endusers": 200})
    config = tap_config(sandbox, page_size=PAGE, max_parallel_requests=PARALLEL)
    first, _ = sync(config, {"endusers"})
    changed = sorted(first.ids("endusers"))[:3]
    sandbox.touch("endusers", changed, {"position": "CTO"})
    sandbox.clear_log()

    second, _ = sync(config, {"endusers"}, state=first.final_state)

    assert set(changed) <= second.ids("endusers")
    # One page holds the changes; the read stops at the next page older than the bookmark,
    # plus at most the pages already asked for ahead of it.
    assert len(offsets(sandbox, "/endusers")) <= 2 + PARALLEL


def test_a_tenant_answering_429_slows_the_tap_down_without_a_retry_storm(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(model_records={"companies": 150})
    config = tap_config(sandbox, page_size=PAGE, max_parallel_requests=8)
    clean, _ = sync(config, {"companies"})
    # A limit the tap's own budget (off here) knows nothing about: 8 calls per half second.
    sandbox.set_rate_limit(8, window_seconds=0.5)
    sandbox.clear_log()

    limited, tap = sync({**config, "retry_max_wait_seconds": 0.5}, {"companies"})

    assert limited.records["companies"] == clean.records["companies"]
    statuses = Counter(r["status"] for r in sandbox.requests_log() if r["path"] == "/companies")
    assert statuses[429] > 0  # the limit did bite
    # One burst of at most the calls in flight, then about one per window, as a reader with
    # one call at a time gets: each 429 held every caller back and fewer went at once.
    assert statuses[429] <= 8 + statuses[200] // 8
    assert tap.connection.gate.in_flight.limit < 8
