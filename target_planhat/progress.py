"""One progress line per batch, in place of the SDK's "sink is full" line.

After each record the SDK asks the sink whether it is full and, when it is, logs "Target sink
for '<stream>' is full. Current size is '<n>'. Draining...". Its ``n`` is the sink's
``current_size``: every record read since the last drain, the ones the sync ledger leaves out
as unchanged included, while a batch is full when it holds ``batch_size_rows`` records to send
(``PlanhatSink.is_full``). So with ``batch_size_rows=1000`` and 5,000 unchanged rows before
the 1,000th changed one, the line said 6,000; and it said nothing of what was written.

The target drops that line (a filter on its logger, as tap-planhat does with SDK notices that
do not apply) and logs, once each batch is written, what the stream's records came to so far:

    Stream 'companies': 6,000 records done: 1,000 created, 0 updated, 5,000 unchanged,
    0 rejected; 2 calls

(``done``: created, updated, unchanged, deleted and rejected, by the summary's counts.)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from target_planhat.run_summary import StreamCounts

#: The start of the SDK's line for a full sink (``record.msg``, before its arguments).
FULL_SINK_NOTICE = "Target sink for '%s' is full."


class FullSinkNoticeFilter(logging.Filter):
    """Drops the SDK's "sink is full" line; every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` is logged."""
        return not str(record.msg).startswith(FULL_SINK_NOTICE)


def quiet_full_sink_notice(logger: logging.Logger) -> None:
    """Install the filter on the target's logger (the one the SDK logs the line on), once."""
    if not any(isinstance(f, FullSinkNoticeFilter) for f in logger.filters):
        logger.addFilter(FullSinkNoticeFilter())


class StreamProgress:
    """Logs a stream's progress after each batch, from the run's counts for the stream."""

    def __init__(
        self, stream: str, counts: StreamCounts, logger: logging.Logger, *, dry_run: bool
    ) -> None:
        """Progress of ``stream``, whose outcomes ``counts`` holds."""
        self._stream = stream
        self._counts = counts
        self._logger = logger
        self._dry_run = dry_run
        self._last_done = 0

    def batch_written(self) -> None:
        """Log the line, unless nothing was done since the last one (a drain with no records)."""
        line = self.line()
        if line is not None:
            self._logger.info("%s", line)

    def line(self) -> str | None:
        """The progress line, or None when no record was done since the last one."""
        counts = self._counts.snapshot()
        done = sum(counts[c] for c in ("created", "updated", "unchanged", "deleted", "rejected"))
        if done == self._last_done:
            return None
        self._last_done = done
        deleted = f"{counts['deleted']:,} deleted, " if counts["deleted"] else ""
        if self._dry_run:
            return (
                f"Stream '{self._stream}' (dry run): {done:,} records done: "
                f"{counts['created']:,} to create, {counts['updated']:,} to update, "
                f"{counts['unchanged']:,} unchanged, {deleted}{counts['rejected']:,} rejected; "
                f"{_calls(counts['planned'], 'write call')} planned, "
                f"{_calls(counts['calls'], 'read call')}"
            )
        return (
            f"Stream '{self._stream}': {done:,} records done: {counts['created']:,} created, "
            f"{counts['updated']:,} updated, {counts['unchanged']:,} unchanged, {deleted}"
            f"{counts['rejected']:,} rejected; {_calls(counts['calls'], 'call')}"
        )


def _calls(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
