"""Streams synced next, read while the current one is written (read_ahead_streams), change
nothing but the wall clock, and cost no call the sequential read would not make.

Against the real sandbox over sockets, with latency and faults: the same records in the same
order and the same STATE as streams read one after another, one call at a time; every page
asked for once; exactly the sequential read's list calls, also on an incremental rerun
(counted from the sandbox's request log); never more streams read ahead or bytes held than
the settings allow.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING

from tests.tap.helpers import tap_config
from tests.tap.test_concurrent_reads import sync

if TYPE_CHECKING:
    from collections.abc import Callable

    from planhat_sandbox.server import SandboxServer

# Incremental and full-table streams, one page to several; none a multiple of the page.
SIZES = {"companies": 23, "endusers": 3, "licenses": 12, "nps": 1, "tasks": 17, "sales": 8}
PAGE = 5
PATHS = {f"/{name}" for name in SIZES}


def list_calls(sandbox: SandboxServer) -> Counter[tuple[str, int]]:
    return Counter(
        (r["path"], int(r["query"]["offset"]))
        for r in sandbox.requests_log()
        if r["path"] in PATHS and r["status"] == 200
    )


def read_before_its_turn(sandbox: SandboxServer) -> set[str]:
    """Streams a page of which past the first was asked for before an earlier stream's last."""
    log = [r for r in sandbox.requests_log() if r["path"] in PATHS]
    order = list(dict.fromkeys(r["path"] for r in log))
    last_call = {path: max(i for i, r in enumerate(log) if r["path"] == path) for path in order}
    early = set()
    for index, entry in enumerate(log):
        earlier = order[: order.index(entry["path"])]
        if int(entry["query"]["offset"]) > 0 and any(last_call[p] > index for p in earlier):
            early.add(entry["path"])
    return early


def test_records_order_and_state_equal_streams_read_in_turn_despite_latency_and_faults(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(model_records=SIZES)
    streams = set(SIZES)
    in_turn = tap_config(sandbox, page_size=PAGE, max_parallel_requests=1, read_ahead_streams=0)
    reference, _ = sync(in_turn, streams)
    first, _ = sync(in_turn, streams)  # a bookmark for every incremental stream
    sandbox.set_faults(latency_ms=30, status_burst=3, truncate=2, after=4)

    ahead = tap_config(sandbox, page_size=PAGE, max_parallel_requests=6, read_ahead_streams=3)
    several, tap = sync(ahead, streams)
    sandbox.set_faults(latency_ms=30, status_burst=0, truncate=0, after=0)
    again_in_turn, _ = sync(in_turn, streams, state=first.final_state)
    again_ahead, _ = sync(ahead, streams, state=first.final_state)

    for stream, count in SIZES.items():
        assert len(several.records[stream]) == count
        assert several.records[stream] == reference.records[stream], stream  # order included
        assert again_ahead.records[stream] == again_in_turn.records[stream], stream
    assert list(several.records) == list(reference.records)  # streams in the same order
    assert several.states == reference.states
    assert again_ahead.states == again_in_turn.states
    # Never more streams read ahead at once than the setting.
    assert 2 <= tap.upcoming.peak_streams <= 3


def test_exactly_the_sequential_reads_calls_and_later_pages_read_before_their_turn(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(model_records=SIZES, faults={"latency_ms": 20})
    # One call in flight at a time: nothing is left for guessing past a list's end, so the
    # calls are exactly those of the sequential read, whatever the timing.
    config = tap_config(sandbox, page_size=PAGE, max_parallel_requests=1)
    sync({**config, "read_ahead_streams": 0}, set(SIZES))
    in_turn = list_calls(sandbox)
    assert read_before_its_turn(sandbox) == set()
    sandbox.clear_log()

    first, _ = sync(config, set(SIZES))

    ahead = list_calls(sandbox)
    minimum = {
        (f"/{name}", offset) for name, n in SIZES.items() for offset in range(0, n + 1, PAGE)
    }
    assert set(ahead) == minimum == set(in_turn)
    assert max(ahead.values()) == 1  # no page asked twice
    # Streams were read ahead past their first page (the point of it), not just started.
    assert read_before_its_turn(sandbox)

    # An incremental rerun stops each newest-first list at its bookmark, read ahead or not:
    # one page each (the bookmark predicted before the stream's sync is the one it uses).
    sandbox.clear_log()
    sync({**config, "read_ahead_streams": 0}, set(SIZES), state=first.final_state)
    rerun_in_turn = list_calls(sandbox)
    sandbox.clear_log()
    sync(config, set(SIZES), state=first.final_state)
    assert list_calls(sandbox) == rerun_in_turn
    # ... which stops short of the list's end (companies: 2 of its 5 pages).
    assert ("/companies", 20) in in_turn
    assert ("/companies", 20) not in rerun_in_turn


def test_held_answers_stay_within_read_ahead_megabytes(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(model_records=SIZES, faults={"latency_ms": 20})
    config = tap_config(sandbox, page_size=PAGE, max_parallel_requests=4, read_ahead_streams=3)
    reference, _ = sync({**config, "read_ahead_streams": 0}, set(SIZES))
    page_bytes = max(len(json.dumps(r)) for rs in reference.records.values() for r in rs) * PAGE

    cap = 2 * page_bytes
    bounded, tap = sync({**config, "read_ahead_megabytes": cap / 1_000_000}, set(SIZES))

    assert bounded.records == reference.records
    # Held plus expected in flight stay within the cap, but for the first calls, sent before
    # any answer said how large a page is: one page for each of the 3 streams read ahead.
    assert 0 < tap.upcoming.peak_bytes <= cap + 3 * page_bytes
    assert tap.upcoming.peak_streams <= 3


def test_off_asks_for_no_page_of_another_stream_early(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(model_records=SIZES, faults={"latency_ms": 10})
    config = tap_config(sandbox, page_size=PAGE)
    for off in ({"read_ahead_streams": 0}, {"read_ahead_megabytes": 0}):
        sandbox.clear_log()
        _, tap = sync({**config, **off}, set(SIZES))
        assert tap.upcoming.peak_bytes == 0, off
        assert read_before_its_turn(sandbox) == set(), off


def test_a_stream_read_ahead_to_its_end_asks_for_no_page_past_it(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    # companies (first in sync order) answers slowly, so every later stream is read to its end
    # before its turn; several calls in flight would let each guess at pages past its end.
    sandbox = sandbox_factory(
        model_records=SIZES, faults={"latency_ms": 150, "only_paths": ["/companies"]}
    )
    config = tap_config(sandbox, page_size=PAGE, max_parallel_requests=6)

    output, _ = sync(config, set(SIZES))

    calls = list_calls(sandbox)
    for name, count in SIZES.items():
        assert len(output.records[name]) == count
        if name != "companies":
            pages = {(f"/{name}", offset) for offset in range(0, count + 1, PAGE)}
            assert {call for call in calls if call[0] == f"/{name}"} == pages, name
