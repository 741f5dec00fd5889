"""First pages of the streams synced next, asked for early (read_ahead_streams), change nothing
but the wall clock.

Against the real sandbox over sockets, with latency and faults: the same records in the same
order and the same STATE as streams read one after another, one call at a time; every first
page asked for once; no more list calls than streams read in turn (counted from the sandbox's
request log); never more first pages held than the setting allows.
"""

from __future__ import annotations

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
    # The memory bound: never more than the setting's first pages asked for or held.
    assert 2 <= tap.upcoming.peak <= 3


def test_no_more_list_calls_than_streams_read_in_turn_and_each_first_page_once(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(model_records=SIZES, faults={"latency_ms": 20})
    # One page ahead within a stream, so the calls past each list's end do not depend on how
    # fast answers come (with more in flight, they vary from run to run on a busy machine).
    config = tap_config(sandbox, page_size=PAGE, max_parallel_requests=1)
    sync({**config, "read_ahead_streams": 0}, set(SIZES))
    in_turn = list_calls(sandbox)
    sandbox.clear_log()

    sync(config, set(SIZES))

    ahead = list_calls(sandbox)
    minimum = sum(count // PAGE + 1 for count in SIZES.values())
    assert all(ahead[f"/{name}", 0] == 1 for name in SIZES)  # each first page asked once
    assert max(ahead.values()) == 1  # no page asked twice
    assert minimum <= sum(ahead.values()) <= sum(in_turn.values())


def test_off_asks_for_no_page_of_another_stream_early(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    sandbox = sandbox_factory(model_records=SIZES)
    _, tap = sync(tap_config(sandbox, page_size=PAGE, read_ahead_streams=0), set(SIZES))
    assert tap.upcoming.peak == 0
