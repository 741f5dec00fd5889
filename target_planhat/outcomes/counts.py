"""Per-stream outcome counts: the progress line after each batch and the summary at the end.

The reader thread counts records as they arrive while the writer thread counts what Planhat
answered (sinks/writer.py), so every update and read of a stream's counts holds its lock.

**Progress.** After each record the SDK asks the sink whether it is full and, when it is,
logs "Target sink for '<stream>' is full. Current size is '<n>'. Draining...". Its ``n`` is the
sink's ``current_size``: every record read since the last drain, the ones the sync ledger
leaves out as unchanged included, while a batch is full when it holds ``batch_size_rows``
records to send (``PlanhatSink.is_full``). So with ``batch_size_rows=1000`` and 5,000
unchanged rows before the 1,000th changed one, the line said 6,000; and it said nothing of
what was written. The target drops that line (a filter on its logger, as tap-planhat does with
SDK notices that do not apply) and logs, once each batch is written, what the stream's records
came to so far:

    Stream 'companies': 6,000 records done: 1,000 created, 0 updated, 5,000 unchanged,
    0 rejected; 2 calls

(``done``: created, updated, unchanged, deleted and rejected, by the summary's counts.)
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, cast

from typing_extensions import TypedDict, Unpack

if TYPE_CHECKING:
    from collections.abc import Mapping

    from target_planhat.mapping.routing import Route


class Counts(TypedDict, total=False):
    """Amounts to add to a stream's counts, by summary column."""

    received: int
    created: int
    updated: int
    unchanged: int
    deleted: int
    rejected: int
    skipped: int
    #: Dry run: write calls a real run would make (``calls`` counts the reads made).
    planned: int
    calls: int


COLUMNS: tuple[str, ...] = tuple(Counts.__annotations__)


class StreamCounts:
    """Outcome counts for one stream over the run; safe to update from any thread."""

    def __init__(self) -> None:
        """All counts at zero."""
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(COLUMNS, 0)

    def add(self, **counts: Unpack[Counts]) -> None:
        """Add to some counts: ``add(created=2, updated=1)``."""
        with self._lock:
            for name, amount in counts.items():
                self._counts[name] += cast("int", amount)

    def count_call(self) -> None:
        """One more call made for this stream (a write, or a look-up it needed)."""
        self.add(calls=1)

    def snapshot(self) -> dict[str, int]:
        """The counts as they are now, by column."""
        with self._lock:
            return dict(self._counts)


class RunSummary:
    """Every stream's counts, for the summary table and ``max_rejected``."""

    def __init__(self) -> None:
        """No stream yet."""
        self._lock = threading.Lock()
        self._streams: dict[str, tuple[str, str, StreamCounts]] = {}

    def counts_for(self, stream_name: str, route: Route | None) -> StreamCounts:
        """The run's counts for a stream (shared by every sink of that stream).

        ``route`` None: the stream is skipped (it matches no model, or its maps drop it).
        """
        with self._lock:
            if stream_name not in self._streams:
                model = route.model.planhat_name if route else "(skipped)"
                mode = route.write_mode if route else "-"
                self._streams[stream_name] = (model, mode, StreamCounts())
            return self._streams[stream_name][2]

    def rejected(self) -> int:
        """Records rejected over the run, all streams."""
        with self._lock:
            streams = list(self._streams.values())
        return sum(counts.snapshot()["rejected"] for _, _, counts in streams)

    def table(self, *, dry_run: bool) -> str:
        """The summary table of the streams' counts so far."""
        with self._lock:
            rows = {
                stream: (model, mode, counts.snapshot())
                for stream, (model, mode, counts) in self._streams.items()
            }
        return summary_table(rows, dry_run=dry_run)


def summary_table(rows: Mapping[str, tuple[str, str, Mapping[str, int]]], *, dry_run: bool) -> str:
    """A fixed-width table: one row per stream ``(model, mode, counts)``, plus totals."""
    columns = ["stream", "model", "mode", "received", "created", "updated", "unchanged"]
    columns += ["deleted", "rejected", "skipped", "calls"]
    if dry_run:
        columns.append("planned")  # write calls a real run would make
    counted = columns[3:]
    table: list[list[str]] = [columns]
    total = dict.fromkeys(counted, 0)
    for stream, (model, mode, counts) in sorted(rows.items()):
        for name in counted:
            total[name] += counts[name]
        table.append([stream, model, mode, *(str(counts[c]) for c in counted)])
    table.append(["TOTAL", "", "", *(str(total[c]) for c in counted)])
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


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
