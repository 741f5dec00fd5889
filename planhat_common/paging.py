"""Offset paging over Planhat lists: where pages start and when to stop.

Shared by the tap's streams (through singer-sdk's paginator, ``tap_planhat/paging/``) and by
:meth:`planhat_common.client.PlanhatClient.list_all` (the target's lookups, the tap's
discovery). Reading ahead is the tap's alone (``tap_planhat/paging/read_ahead.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

T = TypeVar("T")

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
