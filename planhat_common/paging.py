"""Offset paging over Planhat lists: where pages start, when to stop, and reading ahead.

Shared by the tap's streams (through singer-sdk's paginator, ``tap_planhat/pagination.py``)
and by :meth:`planhat_common.client.PlanhatClient.list_all`.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

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


class ReadAhead(Generic[K, V]):
    """Requests sent before the loop that reads them asks: at most ``depth`` in flight.

    A page says whether another follows (its size, whether it reached the bookmark) as soon
    as it is read, so the next request can be sent then, while the page is written out:
    the server's time and the reader's overlap without any request the sequential loop
    would not make. Each request is known by a key (the tap uses the URL); the loop asks by
    key (:meth:`get`) and gets the request read ahead, its exception included, exactly where
    it would have made the request itself. Requests the loop does not ask for (a read stopped
    early, or it asked for another key) are waited for and dropped, never two for one key.

    The tap reads one page ahead (``depth`` 1), so its calls stay sequential.
    """

    def __init__(self, name: str, depth: int = 1) -> None:
        """``name`` labels the worker threads (a stream's name)."""
        self.name = name
        self.depth = depth
        self._executor: ThreadPoolExecutor | None = None
        self._pending: dict[K, Future[V]] = {}

    def start(self, key: K, fetch: Callable[..., V], *args: Any) -> None:
        """Run ``fetch(*args)`` for ``key`` in the background, unless ``depth`` already run."""
        if key in self._pending or len(self._pending) >= self.depth:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                self.depth, thread_name_prefix=f"read-ahead-{self.name}"
            )
        self._pending[key] = self._executor.submit(fetch, *args)

    def get(self, key: K, fetch: Callable[..., V], *args: Any) -> V:
        """The result for ``key``: the request read ahead if there is one, else ``fetch(*args)``."""
        ahead = self._pending.pop(key, None)
        if ahead is not None:
            return ahead.result()
        self.discard()  # the loop went elsewhere: whatever was read ahead is stale
        return fetch(*args)

    def discard(self) -> None:
        """Wait for every request nobody will read and drop its outcome."""
        pending, self._pending = self._pending, {}
        for future in pending.values():
            future.exception()  # its error, if any, belongs to a page nobody asked for

    def close(self) -> None:
        """Discard what is pending and stop the worker threads."""
        self.discard()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
