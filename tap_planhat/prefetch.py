"""Fetch the next list page while the current one is written out.

Planhat answers a 5,000-record page in a fraction of the time the tap needs to emit it, but
the SDK's request loop waits for each page only after the previous one is written, so the
server's time and the tap's add up. A page says whether another follows (its size, whether it
reached the bookmark) as soon as it is parsed, so the next request can be sent then, on one
background thread, without any request the sequential loop would not make.

At most one request is in flight per stream, so calls stay sequential and paced by the
shared budget; its exceptions reach the SDK's loop exactly where the request would have been
made, and a prefetched page the loop does not ask for (a stream stopped early) is waited for
and dropped.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests


class PagePrefetcher:
    """One page request running ahead of the SDK's loop, keyed by its URL."""

    def __init__(self, name: str) -> None:
        """``name`` labels the worker thread (the stream's name)."""
        self._name = name
        self._executor: ThreadPoolExecutor | None = None
        self._pending: tuple[str, Future[requests.Response]] | None = None

    def start(
        self,
        url: str,
        fetch: Callable[..., requests.Response],
        *args: Any,
    ) -> None:
        """Send ``fetch(*args)`` for ``url`` in the background (dropping a stale one)."""
        self.discard()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"prefetch-{self._name}")
        self._pending = (url, self._executor.submit(fetch, *args))

    def take(self, url: str) -> Future[requests.Response] | None:
        """The request started for ``url``, if that is the one running; else None."""
        pending, self._pending = self._pending, None
        if pending is None:
            return None
        if pending[0] == url:
            return pending[1]
        _settle(pending[1])  # the loop asked for another page: never two in flight
        return None

    def discard(self) -> None:
        """Wait for a request nobody will read and drop its outcome."""
        pending, self._pending = self._pending, None
        if pending is not None:
            _settle(pending[1])

    def close(self) -> None:
        """Discard what is pending and stop the worker thread."""
        self.discard()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def _settle(future: Future[requests.Response]) -> None:
    # Its error, if any, belongs to a page nobody asked for.
    future.exception()
