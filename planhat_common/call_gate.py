"""Every main-API call of a process passes one gate: how many at once, how many a minute.

Planhat allows about 200 calls a minute and bursts of up to 50 parallel requests
(docs/planhat-api.md, "Rate limits and retries"). The tap keeps several list calls in flight
(read-ahead, ``tap_planhat/paging/read_ahead.py``) and every attempt, retries included, of every
stream and thread spends from the same :class:`CallGate`.

A call that is waiting at the gate can be called off (:class:`Cancelled`): read-ahead asks
for pages that may turn out to lie past the end of a list, and those should cost no call.
Whoever may call a call off hands its signal (a :class:`threading.Event`) to every wait here.

The gate knows nothing of HTTP: what a refusal means for it (a 429 holds every caller) is
decided by the one sender, ``planhat_common/sender.py``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

#: Calls in flight at once unless ``max_parallel_requests`` says otherwise. At Planhat's 200
#: calls a minute one call starts every 0.3 s, so keeping the budget busy takes about
#: latency / 0.3 s calls in flight: 10 covers answers of up to 3 s, a fifth of the 50
#: parallel requests Planhat documents.
DEFAULT_MAX_PARALLEL_REQUESTS = 10

#: The budget is per any 60-second window.
WINDOW_SECONDS = 60.0
#: Extra spacing between a call and the one ``max_per_minute`` calls later. A server counts
#: calls when they arrive, and the first of a window may arrive late (a new connection), so
#: a window exactly 60 s wide could hold one call too many by the server's clock.
WINDOW_MARGIN_SECONDS = 1.0
#: How often a call waiting for a free slot looks whether it was called off.
POLL_SECONDS = 0.05


class Cancelled(Exception):  # noqa: N818 - reads as what happened to the call
    """A call given up before it was sent: nobody needs its answer any more."""


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled


def pause(seconds: float, cancel: threading.Event | None = None) -> None:
    """Sleep ``seconds``; :class:`Cancelled` as soon as ``cancel`` is set.

    For a retry's wait before its next attempt: a read-ahead called off meanwhile stops
    waiting instead of sleeping out a backoff for a page nobody will read.
    """
    if cancel is None:
        time.sleep(seconds)
    elif cancel.wait(seconds):
        raise Cancelled


class MovingAverage:
    """A duration that follows recent samples (each weighs 0.3) and starts at the first."""

    WEIGHT = 0.3

    def __init__(self) -> None:
        """No sample yet: 0."""
        self.value = 0.0

    def add(self, seconds: float) -> None:
        """Take one more sample."""
        previous = self.value
        self.value = seconds if not previous else previous + self.WEIGHT * (seconds - previous)


class RequestBudget:
    """At most ``max_per_minute`` calls start in any 60-second window, spread evenly.

    Calls start one every 60/N seconds rather than in a burst at the top of a window, which
    is what trips Planhat's limiter (a 429 storm at 3 a.m. usually is a burst). A 429 holds
    every caller (:meth:`hold`) until the window should have reset.
    """

    def __init__(
        self,
        max_per_minute: float | None,
        window: float = WINDOW_SECONDS,
        margin: float = WINDOW_MARGIN_SECONDS,
    ) -> None:
        """``None`` or 0 switches pacing off (the sandbox without a rate limit).

        ``window`` and ``margin`` are for tests: a budget per ``window`` seconds.
        """
        self.per_minute = int(max_per_minute or 0)
        self.window = window
        self.margin = margin
        self.interval = window / self.per_minute if self.per_minute else 0.0
        self._starts: deque[float] = deque(maxlen=self.per_minute or 1)
        self._next_slot = 0.0
        self._held_until = 0.0
        self._lock = threading.Lock()

    def acquire(self, cancel: threading.Event | None = None) -> None:
        """Block until the next call may start; :class:`Cancelled` if ``cancel`` is set first."""
        _check(cancel)
        with self._lock:
            slot = self._reserve(time.monotonic())
        while True:
            with self._lock:
                wait = max(slot, self._held_until) - time.monotonic()
            if wait <= 0:
                return
            if cancel is None:
                time.sleep(wait)
            elif cancel.wait(wait):
                self._release(slot)
                raise Cancelled

    def _reserve(self, now: float) -> float:
        if not self.interval:
            return now
        slot = max(now, self._next_slot)
        if len(self._starts) == self.per_minute:
            slot = max(slot, self._starts[0] + self.window + self.margin)
        self._starts.append(slot)
        self._next_slot = slot + self.interval
        return slot

    def _release(self, slot: float) -> None:
        """Give back a slot not used, if no later one was handed out since."""
        with self._lock:
            if self.interval and self._starts and self._starts[-1] == slot:
                self._starts.pop()
                self._next_slot = slot

    def hold(self, seconds: float) -> None:
        """No call starts for ``seconds`` (after a 429: the server's window is spent)."""
        with self._lock:
            self._held_until = max(self._held_until, time.monotonic() + seconds)

    def held_for(self) -> float:
        """Seconds until calls may start again after a :meth:`hold`; 0 if none."""
        with self._lock:
            return max(0.0, self._held_until - time.monotonic())


class InFlightLimit:
    """How many calls may be in flight at once: halved on a 429, regained slowly.

    Planhat may refuse before its documented budget is spent (a burst limit). Halving on each
    429 and adding one back only after twice ``maximum`` answers in a row without one
    (additive increase, multiplicative decrease, as TCP does, but slower to recover: a window
    that was spent once is likely to be spent again) keeps a limit that is lower than
    documented from turning into a retry storm.
    """

    def __init__(self, maximum: int) -> None:
        """At most ``maximum`` (at least 1) calls in flight."""
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.in_flight = 0
        self.peak = 0
        self._answered = 0
        self._changed = threading.Condition()

    def enter(self, cancel: threading.Event | None = None) -> None:
        """Wait for a free place; :class:`Cancelled` if ``cancel`` is set first."""
        with self._changed:
            while self.in_flight >= self.limit:
                _check(cancel)
                self._changed.wait(POLL_SECONDS if cancel is not None else None)
            _check(cancel)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)

    def leave(self) -> None:
        """A call came back (or failed)."""
        with self._changed:
            self.in_flight -= 1
            self._changed.notify()

    def throttled(self) -> None:
        """A 429: halve the limit."""
        with self._changed:
            self.limit = max(1, self.limit // 2)
            self._answered = 0

    def answered(self) -> None:
        """An answer that was not a 429: after ``2 * maximum`` in a row, one more place."""
        with self._changed:
            self._answered += 1
            if self._answered >= 2 * self.maximum and self.limit < self.maximum:
                self.limit += 1
                self._answered = 0
                self._changed.notify()


class CallGate:
    """The budget and the in-flight limit that every main-API call of a process shares."""

    def __init__(self, budget: RequestBudget, in_flight: InFlightLimit) -> None:
        """Gate calls through ``budget`` and ``in_flight``."""
        self.budget = budget
        self.in_flight = in_flight
        self._call_time = MovingAverage()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, max_per_minute: float | None, max_parallel: int | None = None
    ) -> CallGate:
        """A gate for ``max_requests_per_minute`` and ``max_parallel_requests``."""
        return cls(
            RequestBudget(max_per_minute),
            InFlightLimit(max_parallel or DEFAULT_MAX_PARALLEL_REQUESTS),
        )

    @contextmanager
    def call(self, cancel: threading.Event | None = None) -> Iterator[None]:
        """Around one attempt: a place in flight, then its start in the budget.

        The place comes first so a slot in the budget is never spent waiting for one. Raises
        :class:`Cancelled` if ``cancel`` is set while waiting.
        """
        self.in_flight.enter(cancel)
        try:
            self.budget.acquire(cancel)
            started = time.monotonic()
            try:
                yield
            finally:
                self._timed(time.monotonic() - started)
        finally:
            self.in_flight.leave()

    def _timed(self, seconds: float) -> None:
        with self._lock:
            self._call_time.add(seconds)

    @property
    def call_seconds(self) -> float:
        """How long a call keeps its place in flight (moving average, seconds)."""
        return self._call_time.value

    def throttled(self, seconds: float) -> None:
        """The server refused for the whole tenant: every caller holds ``seconds``, fewer go."""
        self.budget.hold(seconds)
        self.in_flight.throttled()

    def answered(self) -> None:
        """An answer that was not a 429."""
        self.in_flight.answered()
