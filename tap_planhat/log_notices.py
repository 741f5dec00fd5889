"""Keep the SDK's notices out of the tap's log where they do not apply to this tap.

singer-sdk logs, for every incremental stream it syncs, "Stream is assumed to be unsorted,
progress is not resumable if interrupted". tap-planhat reads incremental models newest first
on purpose and moves a bookmark only when its stream completes (README, "How the tap reads
Planhat"), so the notice says nothing a user can act on. "New replication value is null" is
logged for every record without an update timestamp; the tap emits such records as they are
and reports a timestamp that fits no type once per stream (coerce.py).
"""

from __future__ import annotations

import logging

#: The SDK's messages this filter drops (matched on the start of the message).
SDK_NOTICES = (
    "Stream is assumed to be unsorted",
    "New replication value is null",
)


class SdkNoticeFilter(logging.Filter):
    """Drops the notices above; every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is logged."""
        return not str(record.msg).startswith(SDK_NOTICES)


def quiet_sdk_notices() -> None:
    """Install the filter on the SDK's logger, once."""
    logger = logging.getLogger("singer_sdk")
    if not any(isinstance(f, SdkNoticeFilter) for f in logger.filters):
        logger.addFilter(SdkNoticeFilter())
