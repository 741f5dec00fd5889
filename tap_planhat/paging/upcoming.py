"""First pages of the streams singer-sdk will sync next, requested while the current one is read.

singer-sdk syncs one stream after another (``Tap.sync_all``), so a catalog of short lists
would otherwise spend a full round trip at the start of every stream with one call in flight.
Every stream's first page is a call the sequential read makes anyway (a *certain* call), so
asking for it early costs nothing in calls; it only needs the budget, which the current
stream leaves idle while it waits for its own answers.

What is emitted does not change: a first page read early is handed to its stream's own loop
exactly where that loop asks for it (same request, same validation, same exceptions), and
parsed there, on the main thread, in order. Memory: at most :attr:`UpcomingPages.window`
first pages (each at most one ``page_size`` of records, the response and its decoded page)
are requested or held at any time; a new one is asked for only when a stream takes its own.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import requests

#: A first page read early: the response and its decoded records.
Page = tuple["requests.Response", list[dict[str, Any]]]


@dataclass(frozen=True)
class PlannedStream:
    """A stream in sync order whose first page can be asked for before its turn."""

    name: str
    url: str
    fetch: Callable[[threading.Event], Page]


@dataclass(frozen=True)
class EarlyPage:
    """A first page asked for before its stream's turn: the URL it was asked at, its outcome."""

    url: str
    outcome: Future[Page]


class UpcomingPages:
    """The first pages of the next :attr:`window` streams in sync order, asked for ahead.

    The sync order is planned when the first stream starts (singer-sdk's ``sync_all`` is
    final, and only then is the selection surely applied); each stream, as it starts, takes
    its own page (:meth:`reached`), which asks for the pages of the streams after it, up to
    :attr:`window` at once. A stream that is never reached (the run failed) has its request
    called off by :meth:`close`: unsent, it costs no call.
    """

    def __init__(self, window: int, plan: Callable[[], Sequence[PlannedStream]]) -> None:
        """Ask for at most ``window`` first pages ahead (0: none) of the streams ``plan()``."""
        self.window = max(0, window)
        self._plan = plan
        self._order: list[PlannedStream] | None = None
        self._early: dict[str, EarlyPage] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        #: The most first pages asked for ahead and not yet taken at once (the memory bound).
        self.peak = 0

    def reached(self, name: str) -> EarlyPage | None:
        """Stream ``name`` starts: its first page if asked for ahead; ask for the next ones."""
        if not self.window:
            return None
        with self._lock:
            if self._order is None:
                self._order = list(self._plan())
            early = self._early.pop(name, None)
            names = [stream.name for stream in self._order]
            if name in names:
                self._ask_after(names.index(name))
            return early

    @property
    def unanswered(self) -> int:
        """First pages asked for ahead whose answer has not come yet: calls that are certain."""
        with self._lock:
            return sum(not early.outcome.done() for early in self._early.values())

    def _ask_after(self, index: int) -> None:
        assert self._order is not None  # noqa: S101 - planned by the caller
        for stream in self._order[index + 1 :]:
            if len(self._early) >= self.window:
                return
            if stream.name in self._early:
                continue
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.window, thread_name_prefix="first-page")
            outcome = self._executor.submit(stream.fetch, self._cancel)
            self._early[stream.name] = EarlyPage(stream.url, outcome)
            self.peak = max(self.peak, len(self._early))
        # Streams behind us are never asked for: they are done, or not in this run.

    def close(self) -> None:
        """Call off the first pages no stream took; wait for those in flight; stop the threads."""
        with self._lock:
            early, self._early = self._early, {}
            self._order = None
        self._cancel.set()
        self._cancel = threading.Event()
        for page in early.values():
            if not page.outcome.cancel():
                page.outcome.exception()  # the page of a stream that never ran: nobody's error
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def drop(early: EarlyPage) -> None:
    """Forget a first page its stream did not ask for (another URL): it is no longer needed."""
    if not early.outcome.cancel():
        early.outcome.exception()
