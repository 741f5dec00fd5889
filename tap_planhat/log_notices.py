"""Keep the SDK's notices out of the tap's log where they do not apply to this tap.

singer-sdk logs, for every incremental stream it syncs, "Stream is assumed to be unsorted,
progress is not resumable if interrupted". tap-planhat reads incremental models newest first
on purpose and moves a bookmark only when its stream completes (docs/tap.md,
"Reading"), so the notice says nothing a user can act on. "New replication value is null" is
logged for every record without an update timestamp; the tap emits such records as they are
and reports a timestamp that fits no type once per stream (coerce.py). "Skipping parse of env
var settings..." is logged on every start that reads a config file, as Meltano always does.

A stream read in partitions (dimension_data: one per company) would also log "Starting
incremental sync" and "Pagination stopped after 0 pages" once per partition; the stream
reports its progress itself (dimension_data.py), so the first start line is kept and the
rest dropped.
"""

from __future__ import annotations

import logging

#: The SDK's messages this filter drops (matched on the start of the message).
SDK_NOTICES = (
    "Stream is assumed to be unsorted",
    "New replication value is null",
    "Skipping parse of env var settings",
)


class SdkNoticeFilter(logging.Filter):
    """Drops the notices above; every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is logged."""
        return not str(record.msg).startswith(SDK_NOTICES)


#: Dropped on a partitioned stream's logger; of the first, the first line is kept.
PARTITION_NOTICES = ("Starting incremental sync of", "Pagination stopped after")


class StreamNoticeFilter(logging.Filter):
    """With ``partitioned``, drops the SDK's notices repeated per partition."""

    def __init__(self, *, partitioned: bool = False) -> None:
        """Filter one stream's logger; ``partitioned``: the stream is read per partition."""
        super().__init__()
        self.dropped = PARTITION_NOTICES if partitioned else ()
        self.started = not partitioned

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is logged."""
        message = str(record.msg)
        if not self.started and message.startswith(PARTITION_NOTICES[0]):
            self.started = True
            return True
        return not message.startswith(self.dropped)


def quiet_stream_notices(logger: logging.Logger, *, partitioned: bool = False) -> None:
    """Give a stream's logger a new :class:`StreamNoticeFilter` (one per logger).

    Loggers outlive taps (several may run in one process, as in tests): the filter a
    previous tap installed is replaced, so this stream's first start line is kept.
    """
    for old in [f for f in logger.filters if isinstance(f, StreamNoticeFilter)]:
        logger.removeFilter(old)
    logger.addFilter(StreamNoticeFilter(partitioned=partitioned))


def quiet_sdk_notices(plugin_logger: str = "tap-planhat") -> None:
    """Install the filter on the SDK's logger and the plugin's own (the SDK logs there too)."""
    for name in ("singer_sdk", plugin_logger):
        logger = logging.getLogger(name)
        if not any(isinstance(f, SdkNoticeFilter) for f in logger.filters):
            logger.addFilter(SdkNoticeFilter())
