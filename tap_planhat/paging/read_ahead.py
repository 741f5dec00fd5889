"""Reading pages ahead: requests sent while the pages before them are written out.

Planhat answers a list page in about as long as the tap takes to write one, so the next pages
are requested as soon as a page says more follow (tap_planhat/paging/stream_run.py).
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

K = TypeVar("K")
V = TypeVar("V")


#: Calls of slack on top of what keeps the reader busy: enough that a ratio of 3.95 asks for
#: 5, small enough that a server answering in 0.6 of the time a page takes to write (a
#: CPU-bound reader) gets one page ahead, not two (each page of wide records held in memory
#: is tens of MB).
READ_AHEAD_SLACK = 0.1


def calls_to_keep_busy(call_seconds: float, interval: float, maximum: int) -> int:
    """Calls in flight that keep the reader busy, at most ``maximum``.

    A page is needed every ``interval`` seconds (one call's share of the budget, or the time
    the reader takes to write a page, whichever is longer) and a call takes
    ``call_seconds``, so about ``call_seconds / interval`` calls in flight keep up (Little's
    law), plus :data:`READ_AHEAD_SLACK`. More would only hold pages in memory and, within a
    list, add calls past its end. With neither pacing nor a measured reader (``interval``
    0) that is ``maximum``.
    """
    if not interval:
        return maximum
    return min(maximum, math.ceil(call_seconds / interval + READ_AHEAD_SLACK))


def read_ahead_depth(
    full_pages: int, maximum: int, call_seconds: float, interval: float, elsewhere: int = 0
) -> int:
    """How many pages to have requested ahead of the one being written.

    * Ramps up with the list: one ahead after the first full page, then as many as full
      pages read so far (about 1, 2, 4 ... per round trip), so a one-page list costs no extra
      call and the calls past the end of a short list stay few.
    * Never more than keeps the reader busy (:func:`calls_to_keep_busy`).
    * Fewer by ``elsewhere``: calls other streams certainly make (their pages, read ahead,
      upcoming.py) that are waiting for an answer keep the budget busy too. A page past the
      next one is a guess that the list goes on; those calls are not. The next page itself
      (a full page was just read) is always asked for.
    """
    needed = calls_to_keep_busy(call_seconds, interval, maximum)
    return max(1, min(maximum, full_pages, needed - elsewhere))


class ReadAhead(Generic[K, V]):
    """Requests sent before the loop that reads them asks: up to :attr:`depth` at once.

    A page says whether another follows (its size, whether it reached the bookmark) as soon
    as it is read, so the next pages can be requested then, while the page is written out.
    Each request is known by a key (the tap uses the URL); the loop asks by key (:meth:`get`)
    and gets the request read ahead, its exception included, exactly where it would have
    made the request itself, so records still come in page order. Requests the loop does not
    ask for (a read stopped early, or it asked for another key) are dropped, never two for
    one key: those not sent yet are called off (:attr:`signal`, which a request started here
    hands to the one sender, makes it raise :class:`~planhat_common.call_gate.Cancelled`),
    those in flight are waited for.

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
    def signal(self) -> threading.Event:
        """Set when the requests started from now until the next :meth:`discard` are called off.

        A request started here is handed it explicitly (its ``fetch`` binds it), so a request
        made in the loop's own thread, which nobody calls off, is never touched by it.
        """
        return self._cancel

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
        self._pending[key] = self._executor.submit(fetch, *args)

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
