"""What one sync of a stream (one partition) keeps from page to page; made new for each."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

from planhat_common.call_gate import MovingAverage
from tap_planhat.paging.paginator import ValidatedPages
from tap_planhat.paging.read_ahead import ReadAhead, read_ahead_depth
from tap_planhat.paging.upcoming import drop

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests
    from singer_sdk.helpers.types import Context

    from planhat_common.call_gate import CallGate
    from planhat_common.paging import OffsetPager
    from tap_planhat.paging.page_filter import PageFilter
    from tap_planhat.paging.upcoming import EarlyPage


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
        early: EarlyPage | None = None,
        elsewhere: Callable[[], int] = lambda: 0,
    ) -> None:
        """A sync of ``stream_name`` for ``context``, from the first page, through ``gate``.

        ``early``: its first page, asked for before the sync began (upcoming.py).
        ``elsewhere()``: calls other streams certainly need that are waiting for an answer;
        they fill the budget as well as pages read ahead here would, without the risk of
        lying past the end of this list.
        """
        self.context = context
        self.pager = pager
        self.records = records
        self.gate = gate
        self.pages = ValidatedPages(stream_name)
        self.ahead: ReadAhead[str, requests.Response] = ReadAhead(
            stream_name, gate.in_flight.maximum
        )
        self.early = early
        self.elsewhere = elsewhere
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
            early = self._take_early(url)
            if early is not None:
                # Raises here whatever its request raised, where the loop's own would have.
                response, page = early.outcome.result()
                self.pages.hold(response, page)
            else:
                response = self.ahead.get(url, send, prepared_request, *args)
            self._page_got = time.monotonic()
            return response

        return request

    def _take_early(self, url: str) -> EarlyPage | None:
        """The first page read early, if the loop asks for the very request it was read at."""
        early, self.early = self.early, None
        if early is not None and early.url != url:
            drop(early)
            return None
        return early

    def _asked(self, now: float) -> None:
        if self._page_got is None:
            return
        self.write_time.add(now - self._page_got)

    def read_ahead(self, prepare: Callable[[int], requests.PreparedRequest]) -> None:
        """After a page that says more follow: request the next pages, as many as pay off.

        ``prepare(offset)`` builds the request the SDK's loop will make for that page.
        """
        if self.send is None:
            return
        self.full_pages += 1
        gate = self.gate
        self.ahead.depth = read_ahead_depth(
            self.full_pages,
            gate.in_flight.limit,
            gate.call_seconds,
            max(gate.budget.interval, self.write_time.value),
            self.elsewhere(),
        )
        for offset in self.pager.next_offsets(self.ahead.depth):
            prepared = prepare(offset)
            send = partial(self.send, cancel=self.ahead.signal)
            self.ahead.start(prepared.url or "", send, prepared, self.context)

    def close(self) -> None:
        """Drop what was read ahead and nobody asked for; stop the background threads."""
        if self.early is not None:
            drop(self.early)
            self.early = None
        self.ahead.close()
