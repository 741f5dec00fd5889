"""Per-stream outcome counts and the load summary logged at the end of the run.

The reader thread counts records as they arrive while the writer thread counts what Planhat
answered (writer.py), so every update and read of a stream's counts holds its lock.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, cast

from typing_extensions import TypedDict, Unpack

if TYPE_CHECKING:
    from collections.abc import Mapping

    from target_planhat.routing import Route


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
