"""Offset paging over Planhat lists: where pages start, when to stop, and reading ahead.

Shared by the tap's streams (through singer-sdk's paginator, ``tap_planhat/pagination.py``)
and by :meth:`planhat_common.client.PlanhatClient.list_all`.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from planhat_common.call_gate import CANCEL

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")

#: Page caps are round numbers: Planhat's default ``limit`` is 100 and the known caps are
#: 2,000 and 5,000 (docs/planhat-api.md, "Page size caps"); any lower cap a tenant might
#: silently apply (500, 1,000, ...) is a multiple of this.
CAP_STEP = 100


@dataclass(frozen=True)
class PageOutcome:
    """What a page said about the next one: how many records came, whether to go on."""

    received: int
    more: bool


class OffsetPager:
    """Where the next page of a list starts, and whether there is one.

    Planhat lists have no cursor or total: pages are asked by ``limit`` and ``offset``
    (docs/planhat-api.md, "Listing records"). The offset advances by the records received,
    never by the limit sent, so a server returning fewer than asked skips nothing.

    Whether a page was the last is robust to a server that caps ``limit`` silently
    (docs/planhat-api.md, "Page size caps"):

    * a page of ``limit`` records, or as many as the largest page already seen, may be
      followed by more;
    * a shorter page ends the list;
    * a short *first* page ends the list unless its size could be a server's cap (a multiple
      of :data:`CAP_STEP`): 37 records are the whole list, 1,000 may be the first page of a
      server capping at 1,000, so that one is confirmed with one more request.
    """

    def __init__(self, limit: int) -> None:
        """``limit`` is what each request asks for; the first page is at offset 0."""
        self.limit = limit
        self.offset = 0
        self.last = PageOutcome(0, more=True)
        self._largest = 0

    @property
    def finished(self) -> bool:
        """Whether the last page read was the last to read."""
        return not self.last.more

    def page_read(self, received: int, *, stop: bool = False) -> PageOutcome:
        """Account for the page at :attr:`offset`: ``received`` records; ``stop``: want no more."""
        more = self._more_after(received) and not stop
        self.offset += received
        self.last = PageOutcome(received, more=more)
        return self.last

    def next_offsets(self, count: int) -> list[int]:
        """Where the next ``count`` pages start if each is as full as the largest so far.

        A page shorter than that ends the list, so these are the only offsets a further page
        can have.
        """
        step = self._largest or self.limit
        return [self.offset + step * index for index in range(count)]

    def _more_after(self, received: int) -> bool:
        first = self._largest == 0
        self._largest = max(self._largest, received)
        if received == 0:
            return False
        if received >= self.limit:
            return True
        if first:
            return received % CAP_STEP == 0
        return received >= self._largest


def offset_pages(fetch: Callable[[int], Sequence[T]], limit: int) -> Iterator[Sequence[T]]:
    """Every page of a list, in order: ``fetch(offset)`` asks for ``limit`` records there."""
    pager = OffsetPager(limit)
    while not pager.finished:
        page = fetch(pager.offset)
        yield page
        pager.page_read(len(page))


#: Calls of slack on top of what keeps the reader busy: enough that a ratio of 3.95 asks for
#: 5, small enough that a server answering in 0.6 of the time a page takes to write (a
#: CPU-bound reader) gets one page ahead, not two (each page of wide records held in memory
#: is tens of MB).
READ_AHEAD_SLACK = 0.1


def read_ahead_depth(full_pages: int, maximum: int, call_seconds: float, interval: float) -> int:
    """How many pages to have requested ahead of the one being written.

    * Ramps up with the list: one ahead after the first full page, then as many as full
      pages read so far (about 1, 2, 4 ... per round trip), so a one-page list costs no extra
      call and the calls past the end of a short list stay few.
    * Never more than keeps the reader busy: a page is needed every ``interval`` seconds (one
      call's share of the budget, or the time the reader takes to write a page, whichever is
      longer) and a call takes ``call_seconds``, so about ``call_seconds / interval`` calls
      in flight keep up (Little's law), plus :data:`READ_AHEAD_SLACK`. More would only hold
      pages in memory and add calls past the end. With neither pacing nor a measured reader
      (``interval`` 0) that bound is ``maximum``.
    """
    needed = math.ceil(call_seconds / interval + READ_AHEAD_SLACK) if interval else maximum
    return max(1, min(maximum, full_pages, needed))


class ReadAhead(Generic[K, V]):
    """Requests sent before the loop that reads them asks: up to :attr:`depth` at once.

    A page says whether another follows (its size, whether it reached the bookmark) as soon
    as it is read, so the next pages can be requested then, while the page is written out.
    Each request is known by a key (the tap uses the URL); the loop asks by key (:meth:`get`)
    and gets the request read ahead, its exception included, exactly where it would have
    made the request itself, so records still come in page order. Requests the loop does not
    ask for (a read stopped early, or it asked for another key) are dropped, never two for
    one key: those not sent yet are called off (:data:`~planhat_common.call_gate.CANCEL`
    makes the call gate raise :class:`~planhat_common.call_gate.Cancelled`), those in flight
    are waited for.

    :attr:`depth` (at most ``max_depth``, the worker threads) may change between calls;
    the tap ramps it up with :func:`read_ahead_depth`.
    """

    def __init__(self, name: str, max_depth: int = 1) -> None:
        """``name`` labels the worker threads (a stream's name)."""
        self.name = name
        self.max_depth = max(1, max_depth)
        self.depth = 1
        self._executor: ThreadPoolExecutor | None = None
        self._pending: dict[K, Future[V]] = {}
        self._cancel = threading.Event()

    @property
    def pending(self) -> int:
        """Requests read ahead and not asked for yet."""
        return len(self._pending)

    def start(self, key: K, fetch: Callable[..., V], *args: Any) -> None:
        """Run ``fetch(*args)`` for ``key`` in the background, unless ``depth`` already run."""
        if key in self._pending or len(self._pending) >= min(self.depth, self.max_depth):
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                self.max_depth, thread_name_prefix=f"read-ahead-{self.name}"
            )
        self._pending[key] = self._executor.submit(self._call_off_with, self._cancel, fetch, *args)

    @staticmethod
    def _call_off_with(cancel: threading.Event, fetch: Callable[..., V], *args: Any) -> V:
        CANCEL.set(cancel)  # a worker thread's context outlives a task: every task sets it
        return fetch(*args)

    def get(self, key: K, fetch: Callable[..., V], *args: Any) -> V:
        """The result for ``key``: the request read ahead if there is one, else ``fetch(*args)``."""
        ahead = self._pending.pop(key, None)
        if ahead is not None:
            return ahead.result()
        self.discard()  # the loop went elsewhere: whatever was read ahead is stale
        return fetch(*args)

    def discard(self) -> None:
        """Call off every request nobody will read, wait for those in flight, drop outcomes."""
        pending, self._pending = self._pending, {}
        if not pending:
            return
        self._cancel.set()
        self._cancel = threading.Event()
        for future in pending.values():
            if not future.cancel():
                future.exception()  # its error, if any, belongs to a page nobody asked for

    def close(self) -> None:
        """Discard what is pending and stop the worker threads."""
        self.discard()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
