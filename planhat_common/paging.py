"""When to stop paging a Planhat list: shared by the tap's streams and every other listing."""

from __future__ import annotations

#: Page caps are round numbers: Planhat's default ``limit`` is 100 and the known caps are
#: 2,000 and 5,000 (docs/planhat-api.md, "Page size caps"); any lower cap a tenant might
#: silently apply (500, 1,000, ...) is a multiple of this.
CAP_STEP = 100


class PageSizeTracker:
    """Decides whether a page was the last, robust to a server that caps ``limit`` silently.

    Planhat may return fewer records than asked without saying so (docs/planhat-api.md,
    "Page size caps"):

    * a page of ``limit`` records, or as many as the largest page already seen, may be
      followed by more;
    * a shorter page ends the list;
    * a short *first* page ends the list unless its size could be a server's cap (a multiple
      of :data:`CAP_STEP`): 37 records are the whole list, 1,000 may be the first page of a
      server capping at 1,000, so that one is confirmed with one more request.
    """

    def __init__(self, limit: int) -> None:
        """``limit`` is what each request asks for."""
        self.limit = limit
        self.largest = 0

    def more_after(self, received: int) -> bool:
        """Whether another page may exist after one of ``received`` records."""
        first = self.largest == 0
        self.largest = max(self.largest, received)
        if received == 0:
            return False
        if received >= self.limit:
            return True
        if first:
            return received % CAP_STEP == 0
        return received >= self.largest
