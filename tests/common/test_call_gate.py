"""planhat_common/call_gate.py: one budget and one in-flight limit for every call.

Timing here only orders events (a call waits for another to leave, a window holds N starts);
no assertion depends on how fast this machine is, except lower bounds of a wait.
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from planhat_common.call_gate import (
    CallGate,
    Cancelled,
    InFlightLimit,
    MovingAverage,
    RequestBudget,
)
from planhat_common.paging import OffsetPager
from planhat_common.sender import own_wait
from tap_planhat.paging.read_ahead import ReadAhead, read_ahead_depth


def test_no_window_holds_more_starts_than_the_budget_across_threads() -> None:
    budget = RequestBudget(5, window=0.5, margin=0.05)
    starts: list[float] = []
    lock = threading.Lock()

    def calls() -> None:
        for _ in range(5):
            budget.acquire()
            with lock:
                starts.append(time.monotonic())

    threads = [threading.Thread(target=calls) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts.sort()
    assert len(starts) == 20
    # Any six starts in a row span more than the window: at most five in any window.
    assert min(later - first for first, later in zip(starts, starts[5:], strict=False)) >= 0.5
    # Spread evenly, not in bursts at the top of each window.
    assert min(b - a for a, b in itertools.pairwise(starts)) >= 0.09


def test_a_hold_keeps_every_caller_back() -> None:
    budget = RequestBudget(0)
    budget.hold(0.2)
    begun = time.monotonic()
    budget.acquire()
    assert time.monotonic() - begun >= 0.19
    assert budget.held_for() == 0.0


def test_a_429_wait_holds_every_caller_and_any_other_is_the_callers_own() -> None:
    gate = CallGate(RequestBudget(None), InFlightLimit(8))
    assert own_wait(gate, 503, 2.0) == 2.0
    assert own_wait(gate, None, 3.0) == 3.0  # a reset or timeout
    assert gate.budget.held_for() == 0
    assert gate.in_flight.limit == 8

    assert own_wait(gate, 429, 30.0) == 0.0  # waited at the gate instead, by every caller
    assert 29.0 < gate.budget.held_for() <= 30.0
    assert gate.in_flight.limit == 4


def test_a_call_waiting_for_the_budget_can_be_called_off() -> None:
    budget = RequestBudget(60, window=60.0, margin=0.0)  # a start every second
    budget.acquire()
    cancel = threading.Event()
    threading.Timer(0.02, cancel.set).start()
    with pytest.raises(Cancelled):
        budget.acquire(cancel)  # its slot is a second away


def test_the_in_flight_limit_halves_on_a_429_and_regains_one_slowly() -> None:
    limit = InFlightLimit(8)
    limit.throttled()
    assert limit.limit == 4
    limit.throttled()
    limit.throttled()
    limit.throttled()
    assert limit.limit == 1  # never below one
    for _ in range(15):
        limit.answered()
    assert limit.limit == 1
    limit.answered()  # 16 = twice the setting in a row without a 429
    assert limit.limit == 2
    for _ in range(15):
        limit.answered()
    limit.throttled()  # a 429 starts the count again
    for _ in range(15):
        limit.answered()
    assert limit.limit == 1
    for _ in range(200):
        limit.answered()
    assert limit.limit == 8  # never above the setting


def test_a_call_waits_for_a_place_in_flight() -> None:
    limit = InFlightLimit(1)
    limit.enter()
    entered = threading.Event()

    def second() -> None:
        limit.enter()
        entered.set()
        limit.leave()

    thread = threading.Thread(target=second)
    thread.start()
    assert not entered.wait(0.1)
    limit.leave()
    assert entered.wait(5)
    thread.join()
    assert limit.peak == 1


def test_a_call_waiting_for_a_place_can_be_called_off() -> None:
    limit = InFlightLimit(1)
    limit.enter()
    cancel = threading.Event()
    threading.Timer(0.05, cancel.set).start()
    with pytest.raises(Cancelled):
        limit.enter(cancel)
    assert limit.in_flight == 1


def test_read_ahead_calls_off_requests_not_sent_yet_when_discarded() -> None:
    gate = CallGate(RequestBudget(60, window=60.0, margin=0.0), InFlightLimit(4))  # 1 a second
    sent: list[str] = []

    def fetch(key: str, cancel: threading.Event) -> str:
        with gate.call(cancel):
            sent.append(key)
        return key

    ahead: ReadAhead[str, str] = ReadAhead("companies", max_depth=3)
    ahead.depth = 3
    for key in ("a", "b", "c"):
        ahead.start(key, fetch, key, ahead.signal)
    begun = time.monotonic()
    while not sent and time.monotonic() - begun < 5:
        time.sleep(0.01)
    ahead.close()
    assert sent == ["a"]  # b and c were waiting for their slots, 1 and 2 s later
    assert not ahead.signal.is_set()  # what is started from now on is not called off


@pytest.mark.parametrize(
    ("full_pages", "maximum", "call_seconds", "interval", "depth"),
    [
        (1, 10, 0.0, 0.0, 1),  # one page ahead after the first full page
        (2, 10, 0.0, 0.0, 2),
        (7, 10, 0.0, 0.0, 7),
        (50, 10, 0.0, 0.0, 10),  # never above the setting
        (50, 10, 1.0, 0.3, 4),  # 1 s calls, one every 0.3 s: ceil(3.3 + 0.1)
        (50, 10, 0.5, 0.75, 1),  # the server answers in 2/3 of a page's writing time
        (50, 10, 0.74, 0.75, 2),  # about as long as writing: one more, in case
        (50, 10, 3.0, 0.3, 10),  # 11, capped by the setting
        (50, 10, 0.01, 0.3, 1),  # a fast server at Planhat's pace: one page ahead
        (50, 10, 0.2, 0.75, 1),  # a reader slower than the server (CPU-bound): one ahead
        (50, 10, 2.0, 0.5, 5),
        (50, 1, 3.0, 0.3, 1),
    ],
)
def test_read_ahead_depth(
    full_pages: int, maximum: int, call_seconds: float, interval: float, depth: int
) -> None:
    assert read_ahead_depth(full_pages, maximum, call_seconds, interval) == depth


def test_next_offsets_step_by_the_largest_page() -> None:
    pager = OffsetPager(5000)
    assert pager.next_offsets(2) == [0, 5000]
    pager.page_read(1000)  # a server capping pages at 1,000
    assert pager.next_offsets(3) == [1000, 2000, 3000]


def test_a_moving_average_starts_at_its_first_sample_and_follows_later_ones() -> None:
    average = MovingAverage()
    assert average.value == 0.0
    average.add(1.0)
    assert average.value == 1.0
    average.add(2.0)
    assert average.value == pytest.approx(1.3)
