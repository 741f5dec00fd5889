"""Planhat's epoch day: whole days since 1970-01-01 (UTC).

The metrics API windows ``from``/``to`` and the ``time`` of metric values in this unit
(docs/planhat-api.md, "Metrics (dimension data)"). The tap, its type conversions and the sandbox
all convert through here.
"""

from __future__ import annotations

import datetime as dt

EPOCH = dt.date(1970, 1, 1)


def epoch_day(value: dt.date) -> int:
    """Whole days from 1970-01-01 to ``value``."""
    return (value - EPOCH).days


def epoch_day_date(day: int) -> dt.date:
    """The date of epoch day ``day``."""
    return EPOCH + dt.timedelta(days=day)
