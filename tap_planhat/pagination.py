"""Offset pagination over Planhat's bare-array list endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests


@dataclass(frozen=True)
class PageOutcome:
    """What a page said about the next one: how many records came, whether to go on."""

    received: int
    more: bool


class PlanhatPaginator(BaseAPIPaginator[int]):
    """Advances ``offset`` by the records actually received, never by the limit sent.

    Whether to go on is decided by the stream, which has read the page (short page,
    bookmark reached); the paginator asks it through ``outcome``.
    """

    def __init__(self, outcome: Callable[[requests.Response], PageOutcome]) -> None:
        """Start at offset 0."""
        super().__init__(0)
        self._outcome = outcome

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        # A page whose records were all filtered out (duplicates, older than the bookmark
        # while the sort is not honoured) is not the end of the data.
        outcome = self._outcome(response)
        return outcome.received > 0 and outcome.more

    @override
    def has_more(self, response: requests.Response) -> bool:
        return self._outcome(response).more

    @override
    def get_next(self, response: requests.Response) -> int:
        return self.current_value + self._outcome(response).received
