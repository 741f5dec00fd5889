"""What one sync of a stream (one partition) keeps from page to page; made new for each."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planhat_common.paging import ReadAhead
from tap_planhat.pagination import ValidatedPages

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests
    from singer_sdk.helpers.types import Context

    from planhat_common.page_filter import PageFilter
    from planhat_common.paging import OffsetPager

#: Pages requested ahead of the one being written: one keeps calls sequential (paging.py).
READ_AHEAD_DEPTH = 1


class StreamRun:
    """The pager, the record filter, pages in transit and the page read ahead, for one sync."""

    def __init__(
        self, stream_name: str, context: Context | None, pager: OffsetPager, records: PageFilter
    ) -> None:
        """A sync of ``stream_name`` for ``context``, from the first page."""
        self.context = context
        self.pager = pager
        self.records = records
        self.pages = ValidatedPages(stream_name)
        self.ahead: ReadAhead[str, requests.Response] = ReadAhead(stream_name, READ_AHEAD_DEPTH)
        #: The SDK's request function with retries (set by :meth:`requests_through`).
        self.send: Callable[..., requests.Response] | None = None

    def requests_through(
        self, send: Callable[..., requests.Response]
    ) -> Callable[..., requests.Response]:
        """Send through ``send``; the request function for the SDK's loop, reading ahead first."""
        self.send = send

        def request(prepared_request: requests.PreparedRequest, *args: Any) -> requests.Response:
            return self.ahead.get(prepared_request.url or "", send, prepared_request, *args)

        return request

    def read_ahead(self, prepared_request: requests.PreparedRequest) -> None:
        """Send ``prepared_request`` (the SDK loop's next) in the background."""
        if self.send is not None:
            self.ahead.start(prepared_request.url or "", self.send, prepared_request, self.context)

    def close(self) -> None:
        """Drop what was read ahead and nobody asked for; stop the background thread."""
        self.ahead.close()
