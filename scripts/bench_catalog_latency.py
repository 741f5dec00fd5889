"""The latency phase's catalog scenario: many short streams and one long one, within the budget.

A real tenant's catalog is about 20 models of 1-10 pages each, not one long list: read one
stream after another, each starts again from one call in flight, and calls past the end of
short lists add up. This scenario reads 20 streams of 1 to 10 pages (page size 100, the last
page short) and companies over 25 pages, at each latency, twice: with ``read_ahead_streams:
0`` (streams one after another: the tap before first pages were read ahead) and with the
tap's default, against a sequential reference at latency 0 (one call at a time).

Then an incremental run of the same catalog from the reference's final STATE (each
newest-first list stops at its first page, full-table lists are read whole), again against
a sequential reference and with streams read in turn and ahead at each latency.

Per run: wall, wall / the budget floor of the minimum calls (the minimum list calls plus
every other main-API call of the run, x 60 / 200 s), list calls against the minimum (for the
incremental runs: the sequential reference's), the most calls in flight the sandbox saw,
429s, peak RSS, and whether the RECORD messages (in order) and the final STATE equal the
reference's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench_latency import (
    BUDGET_PER_MINUTE,
    PARALLEL_SETTING,
    minimum_calls,
    read_under_latency,
)

from planhat_common.registry import get_model

if TYPE_CHECKING:
    from pathlib import Path

    from bench_context import BenchContext
    from bench_latency import LatencyOptions
    from bench_run import Run

PAGE_SIZE = 100
LONG_STREAM = "companies"
LONG_PAGES = 25
SHORT_STREAMS = (
    "users", "endusers", "assets", "campaigns", "churn", "conversations", "invoices", "issues",
    "licenses", "nps", "objectives", "opportunities", "projects", "sales", "products", "deals",
    "line_items", "tasks", "tickets", "workspaces",
)  # fmt: skip
STREAMS_SETTING = "read_ahead_streams"
#: The second run per latency: the tap's own ``read_ahead_streams`` (its default).
AHEAD = "streams read ahead"


def catalog_sizes() -> dict[str, int]:
    """Records per stream: 1 to 10 pages each (the last one short), companies 25 pages."""
    sizes = {
        name: (1 + (index * 3) % 10) * PAGE_SIZE - 37 for index, name in enumerate(SHORT_STREAMS)
    }
    return {**sizes, LONG_STREAM: LONG_PAGES * PAGE_SIZE - 37}


@dataclass
class CatalogRun:
    """One measured read of the catalog."""

    label: str
    run: Run
    #: The list calls a sequential read makes.
    minimum: int
    list_calls: int
    max_in_flight: int
    throttled: int
    digest: str
    state: dict[str, Any] | None


class CatalogLatencyBench:
    """Reads of the catalog at several latencies, streams read ahead or not."""

    def __init__(self, ctx: BenchContext, options: LatencyOptions) -> None:
        """Measure in ``ctx``."""
        self.ctx = ctx
        self.options = options
        self.sizes = catalog_sizes()
        self.paths = {name: get_model(name).path or "" for name in self.sizes}
        self.minimum = sum(minimum_calls(count, PAGE_SIZE) for count in self.sizes.values())

    def run(self) -> list[CatalogRun]:
        """The reference read, then both reads per latency; prints a line per run and the table."""
        ctx = self.ctx
        print(
            f"\n[latency: catalog] {len(self.sizes)} streams, {sum(self.sizes.values()):,} "
            f"records in pages of {PAGE_SIZE} (at least {self.minimum} list calls)"
        )
        ctx.sandbox.admin("POST", "reset", {"records": ctx.other, "model_records": self.sizes})
        sequential = {PARALLEL_SETTING: 1, STREAMS_SETTING: 0}
        ways: tuple[tuple[str, dict[str, int]], ...] = (
            ("streams in turn", {STREAMS_SETTING: 0}),
            (AHEAD, {}),
        )
        try:
            full = [self._read("0 ms (reference)", 0, sequential)]
            for ms in self.options.latencies:
                full += [self._read(f"{ms:,} ms, {label}", ms, how) for label, how in ways]
            state = full[0].state
            again = [self._read("0 ms (reference)", 0, sequential, state)]
            for ms in self.options.latencies:
                again += [
                    self._read(f"{ms:,} ms, {label}", ms, how, state, again[0].list_calls)
                    for label, how in ways
                ]
        finally:
            ctx.sandbox.admin("PUT", "faults", {})
            ctx.sandbox.admin("PUT", "rate_limit", {"per_minute": 0})
        for title, runs in (("Full read", full), ("Incremental run", again)):
            print(f"\n{title}:\n")
            print("\n".join(self.table(runs)))
        return full + again

    def _catalog(self) -> Path:
        catalog = self.ctx.catalog
        for entry in catalog["streams"]:
            for meta in entry["metadata"]:
                if not meta["breadcrumb"]:
                    meta["metadata"]["selected"] = entry["tap_stream_id"] in self.sizes
        return self.ctx.write("catalog-latency.json", catalog)

    def _read(
        self,
        label: str,
        latency_ms: int,
        extra: dict[str, int],
        state: dict[str, Any] | None = None,
        minimum: int | None = None,
    ) -> CatalogRun:
        """One read; ``state``: an incremental run from it (``minimum``: its sequential calls)."""
        ctx = self.ctx
        settings = {
            **ctx.tap_settings,
            "max_requests_per_minute": BUDGET_PER_MINUTE,
            "page_size": PAGE_SIZE,
            **extra,
        }
        read = read_under_latency(
            ctx, "catalog-latency", settings, self._catalog(), latency_ms, state=state
        )
        run = read.run
        list_calls = sum(run.calls("GET", path) for path in self.paths.values())
        if minimum is None:
            minimum = self.minimum if state is None else list_calls
        result = CatalogRun(
            label=label,
            run=run,
            minimum=minimum,
            list_calls=list_calls,
            max_in_flight=read.max_in_flight,
            throttled=read.throttled,
            digest=read.digest,
            state=run.last_state,
        )
        print(
            f"  {label:<28} wall {run.wall:6.1f}s  list calls {result.list_calls} "
            f"(min {minimum})  in flight {result.max_in_flight}  429s {result.throttled}  "
            f"rss {run.rss_mb:.0f} MB  records {run.records:,}",
            flush=True,
        )
        return result

    def floor(self, item: CatalogRun) -> float:
        """The budget floor of the minimum calls: minimum list calls plus the run's others."""
        others = item.run.total_calls - item.list_calls
        return (item.minimum + others) * 60 / BUDGET_PER_MINUTE

    def table(self, runs: list[CatalogRun]) -> list[str]:
        """The runs as a markdown table (the first run is the reference)."""
        reference = runs[0]
        columns = (
            "run",
            "wall",
            "wall / floor",
            "list calls (minimum)",
            "over minimum",
            "max in flight",
            "429s",
            "peak RSS",
            "same records",
            "same STATE",
        )
        lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
        for index, item in enumerate(runs):
            first = index == 0
            same = "(reference)" if first else _yes(item.digest == reference.digest)
            same_state = "(reference)" if first else _yes(item.state == reference.state)
            over = (item.list_calls - item.minimum) / item.minimum
            lines.append(
                f"| {item.label} | {item.run.wall:.1f} s | {item.run.wall / self.floor(item):.2f}x "
                f"| {item.list_calls} ({item.minimum}) | {over:+.1%} | {item.max_in_flight} "
                f"| {item.throttled} | {item.run.rss_mb:.0f} MB | {same} | {same_state} |"
            )
        return lines


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
