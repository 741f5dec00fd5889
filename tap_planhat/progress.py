"""Progress through a stream read in many partitions, logged every few seconds at most.

A stream read once per company makes as many calls as there are companies; the SDK logs
nothing a user could read progress from (its per-partition lines are left out, see
log_notices.py), so the stream says how far it got, and counts its requests once for the
whole stream rather than in one METRIC line per partition.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from singer_sdk.metrics import Counter
from typing_extensions import override

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from singer_sdk.helpers.types import Context

#: Least seconds between two progress lines.
PROGRESS_SECONDS = 5.0


class PartitionProgress:
    """Counts partitions and records; logs ``<stream>: company 120 of 1,000, N records``."""

    def __init__(
        self,
        logger: logging.Logger,
        stream: str,
        total: int,
        *,
        noun: tuple[str, str] = ("company", "companies"),
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Progress of ``stream`` through ``total`` partitions, each one ``noun`` (one, many).

        ``interval``: least seconds between lines (default :data:`PROGRESS_SECONDS`).
        """
        self.logger = logger
        self.stream = stream
        self.total = total
        self.noun = noun
        self.interval = PROGRESS_SECONDS if interval is None else interval
        self.clock = clock
        self.partitions = 0
        self.records = 0
        self._last_line = clock()

    def partition_read(self, records: int) -> None:
        """One more partition read, with ``records`` records: log if it is time, or the end."""
        self.partitions += 1
        self.records += records
        now = self.clock()
        if self.partitions >= self.total:
            self.logger.info(
                "%s: %s %s read, %s records",
                self.stream,
                f"{self.partitions:,}",
                self.noun[0] if self.partitions == 1 else self.noun[1],
                f"{self.records:,}",
            )
        elif now - self._last_line >= self.interval:
            self._last_line = now
            self.logger.info(
                "%s: %s %s of %s, %s records",
                self.stream,
                self.noun[0],
                f"{self.partitions:,}",
                f"{self.total:,}",
                f"{self.records:,}",
            )


class StreamWideCounter(Counter):
    """One request count for all partitions of a stream (``get_http_request_counter``).

    The SDK enters and leaves its request counter once per partition, and leaving writes a
    METRIC line with that partition's count. This one counts on through them (writing its
    count every log interval, as any counter does) and writes the rest once, at
    :meth:`close`.
    """

    @override
    def with_context(self, value: Context | None) -> None:
        pass  # the count is the stream's, not one partition's

    @override
    def __exit__(self, *exc_info: object) -> None:
        pass  # counting goes on with the next partition

    def close(self) -> None:
        """Write the count not yet written."""
        self.exit()
