"""When to stop paging a Planhat list: shared by the tap's streams and every other listing."""

from __future__ import annotations


class PageSizeTracker:
    """Decides whether a page was the last, robust to a server that caps ``limit`` silently.

    Planhat may return fewer records than asked without saying so (API reference §15.1). A
    page shorter than the largest page already seen ends the stream. A short *first* page
    is ambiguous (the last page, or the server's real cap), so it is confirmed with one more
    request; streams larger than a page pay nothing extra.
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
        return first or received >= self.largest
