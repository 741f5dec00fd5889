"""singer-sdk's side of paging: its paginator over an OffsetPager, and pages in transit.

Offsets and the short-page rule are ``planhat_common/paging.py`` (shared with the client).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

if TYPE_CHECKING:
    import requests

    from planhat_common.paging import OffsetPager


class PlanhatPaginator(BaseAPIPaginator[int]):
    """The SDK loop's view of a stream's :class:`~planhat_common.paging.OffsetPager`.

    The stream's ``parse_response`` accounts each page in the pager, as only it has read the
    page (records received, bookmark reached); the SDK's loop asks here afterwards.
    """

    def __init__(self, pager: OffsetPager) -> None:
        """Start where ``pager`` does."""
        super().__init__(pager.offset)
        self._pager = pager

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        # A page whose records were all filtered out (duplicates, older than the bookmark
        # while the sort is not honoured) is not the end of the data.
        last = self._pager.last
        return last.received > 0 and last.more

    @override
    def has_more(self, response: requests.Response) -> bool:
        return self._pager.last.more

    @override
    def get_next(self, response: requests.Response) -> int:
        return self._pager.offset


class UnreadablePageError(Exception):
    """A 2xx response whose body is not a JSON array: a glitch to retry."""


class PageMismatchError(RuntimeError):
    """``parse_response`` got a response whose page ``validate_response`` did not decode."""


class ValidatedPages:
    """Pages decoded in ``validate_response``, held for ``parse_response`` of the same response.

    Decoding belongs to validation: a body that is not a page is retried like a 5xx.

    The SDK calls both with the very same response object (tests/test_sdk_contract.py) and
    decodes nothing in between; a page read ahead is validated on the background thread,
    possibly before the previous one is parsed, so pages are held by response.
    """

    def __init__(self, stream_name: str) -> None:
        """Pages of the stream ``stream_name`` (named in errors)."""
        self.stream_name = stream_name
        # By id(): the response is held too, so no other object can take its id meanwhile.
        self._pages: dict[int, tuple[requests.Response, list[dict[str, Any]]]] = {}

    def decode(self, response: requests.Response) -> None:
        """Decode the page ``response`` holds and keep it for :meth:`take`.

        Raises:
            UnreadablePageError: the body is not JSON, or not an array.
        """
        self.hold(response, decode_page(response))

    def hold(self, response: requests.Response, page: list[dict[str, Any]]) -> None:
        """Keep ``page``, decoded from ``response`` already (a first page read before its run)."""
        self._pages[id(response)] = (response, page)

    def take(self, response: requests.Response) -> list[dict[str, Any]]:
        """The page decoded from ``response``; a response never validated is a bug, not an end."""
        held = self._pages.pop(id(response), None)
        if held is None:
            raise PageMismatchError(
                f"Stream '{self.stream_name}': parse_response was given a response whose page "
                f"validate_response did not decode (HTTP {response.status_code} from "
                f"{response.url}). This is a bug in tap-planhat or a change in singer-sdk "
                "(tests/test_sdk_contract.py); the stream stops here rather than end as if "
                "complete."
            )
        return held[1]


def decode_page(response: requests.Response) -> list[dict[str, Any]]:
    """The page ``response`` holds.

    Raises:
        UnreadablePageError: the body is not JSON, or not an array.
    """
    try:
        page = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise UnreadablePageError("malformed JSON") from None
    if not isinstance(page, list):
        # Planhat sometimes answers 200 with {"error": ...} instead of the list
        # (docs/planhat-api.md, "Errors and odd responses").
        raise UnreadablePageError("not a JSON array")
    return page
