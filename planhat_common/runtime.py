"""Process-wide tuning for the two plugins' command lines.

Singer records are trees of dicts and lists without cycles: reference counting frees each
one as soon as it is written. Python's cyclic collector does not know that, and with its
default threshold (a collection every 700 net allocations) it re-scans the thousands of
records a page or a batch holds, again and again: measured here, 15-20% of the target's CPU
time and about 10% of the tap's. A higher first threshold keeps the collector for the few
real cycles (SDK and library objects) at a fraction of the cost. Only the command lines
(``tap-planhat``, ``target-planhat``, ``planhat-sandbox``) call this; importing the packages
(tests, other programs) leaves the interpreter as it was.
"""

from __future__ import annotations

import gc

#: Allocations between two youngest-generation collections (CPython's default: 700).
GC_THRESHOLD0 = 50_000


def tune_gc() -> None:
    """Collect cycles far less often; the older generations keep their default ratios."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD0, older, oldest)
