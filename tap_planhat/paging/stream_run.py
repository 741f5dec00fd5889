"""What one sync of a stream (one partition) keeps from page to page; made new for each."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

from planhat_common.call_gate import MovingAverage
from tap_planhat.paging.paginator import ValidatedPages
from tap_planhat.paging.read_ahead import ReadAhead, calls_to_keep_busy, read_ahead_depth
from tap_planhat.paging.upcoming import EarlyPages, drop

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests
    from singer_sdk.helpers.types import Context

    from planhat_common.call_gate import CallGate
    from planhat_common.paging import OffsetPager
    from tap_planhat.paging.page_filter import PageFilter
    from tap_planhat.paging.upcoming import UpcomingPages


class StreamRun:
    """The pager, the record filter, pages in transit and the pages read ahead, for one sync."""

    def __init__(
        self,
        stream_name: str,
        context: Context | None,
        pager: OffsetPager,
        records: PageFilter,
        gate: CallGate,
        *,
        early: EarlyPages | None = None,
        upcoming: UpcomingPages | None = None,
    ) -> None:
        """A sync of ``stream_name`` for ``context``, from the first page, through ``gate``.

        ``early``: its pages asked for before the sync began, by URL (upcoming.py).
        ``upcoming``: the streams synced next, read ahead; their calls are certain, so they
        fill the budget as well as pages guessed here would, without the risk of lying past
        the end of this list.
        """
        self.context = context
        self.pager = pager
        self.records = records
        self.gate = gate
        self.pages = ValidatedPages(stream_name)
        self.ahead: ReadAhead[str, requests.Response] = ReadAhead(
            stream_name, gate.in_flight.maximum
        )
        early = early or EarlyPages()
        self.early = early.pages
        #: The pages read early end with the list's last: no call past them is worth making.
        self.early_to_the_end = early.to_the_end
        self.upcoming = upcoming
        self.full_pages = 0
        #: Seconds the reader spends on a page between getting it and asking for the next
        #: (moving average; 0 until two pages were read).
        self.write_time = MovingAverage()
        self._page_got: float | None = None
        #: The SDK's request function, through the one sender (set by :meth:`requests_through`);
        #: it takes the cancel signal of a request read ahead as ``cancel``.
        self.send: Callable[..., requests.Response] | None = None

    def requests_through(
        self, send: Callable[..., requests.Response]
    ) -> Callable[..., requests.Response]:
        """Send through ``send``; the request function for the SDK's loop, reading ahead first."""
        self.send = send

        def request(prepared_request: requests.PreparedRequest, *args: Any) -> requests.Response:
            self._asked(time.monotonic())
            url = prepared_request.url or ""
            early = self.early.pop(url, None)
            if early is not None:
                # Raises here whatever its request raised, where the loop's own would have.
                response, page = early.result()
                self.pages.hold(response, page)
            else:
                response = self.ahead.get(url, send, prepared_request, *args)
            self._page_got = time.monotonic()
            return response

        return request

    def _asked(self, now: float) -> None:
        if self._page_got is None:
            return
        self.write_time.add(now - self._page_got)

    def read_ahead(self, prepare: Callable[[int], requests.PreparedRequest]) -> None:
        """After a page that says more follow: request the next pages, as many as pay off.

        ``prepare(offset)`` builds the request the SDK's loop will make for that page.
        """
        if self.send is None or self.early_to_the_end:
            # (to the end: every page left is among those read early)
            return
        self.full_pages += 1
        gate = self.gate
        interval = max(gate.budget.interval, self.write_time.value)
        elsewhere = 0
        if self.upcoming is not None:
            self.upcoming.keep_busy(
                calls_to_keep_busy(gate.call_seconds, interval, gate.in_flight.limit)
            )
            elsewhere = self.upcoming.certain_calls
        depth = read_ahead_depth(
            self.full_pages, gate.in_flight.limit, gate.call_seconds, interval, elsewhere
        )
        wanted = [prepare(offset) for offset in self.pager.next_offsets(depth)]
        # Pages read before the sync began (or still coming) are not asked for again.
        self.ahead.depth = sum((prepared.url or "") not in self.early for prepared in wanted)
        for prepared in wanted:
            url = prepared.url or ""
            if url not in self.early:
                send = partial(self.send, cancel=self.ahead.signal)
                self.ahead.start(url, send, prepared, self.context)

    def close(self) -> None:
        """Drop what was read ahead and nobody asked for; stop the background threads."""
        early, self.early = self.early, {}
        for outcome in early.values():
            drop(outcome)
        self.ahead.close()
