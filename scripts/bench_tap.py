"""The tap's phases: one model, the default catalog and an incremental rerun, against raw loops."""

from __future__ import annotations

import json
import math
import statistics
import sys
from typing import TYPE_CHECKING

from bench_run import RAW, TOKEN, Run, best, measure

from planhat_common.paging import CAP_STEP
from planhat_common.registry import get_model

if TYPE_CHECKING:
    from pathlib import Path

    from bench_context import BenchContext


def confirmations(counts: dict[str, int]) -> tuple[int, int]:
    """Requests beyond ceil(N / cap) that planhat_common/paging.py makes, by reason.

    (streams whose last page is full, streams whose one short page has a round size)
    """
    full = round_first = 0
    for stream, n in counts.items():
        cap = get_model(stream).page_cap
        if n and n % cap == 0:
            full += 1
        elif 0 < n < cap and n % CAP_STEP == 0:
            round_first += 1
    return full, round_first


class TapBench:
    """tap-planhat against ``benchmark_raw.py tap`` on the same data."""

    def __init__(self, ctx: BenchContext) -> None:
        """Measure in ``ctx``."""
        self.ctx = ctx

    def raw_tap(
        self,
        label: str,
        streams: list[str],
        stdout_file: Path | None = None,
        repeat: int | None = None,
    ) -> list[Run]:
        """Run the raw tap loop ``repeat`` times (default ``--repeat``) over ``streams``."""
        ctx = self.ctx
        specs = []
        for stream in streams:
            model = get_model(stream)
            sort = f"-{model.replication_key}" if model.replication_key else "_id"
            specs.append(f"{stream}:{model.path}:{model.page_cap}:{sort}")
        schemas = ctx.write("schemas.json", {s: ctx.schema_of(s) for s in streams})
        args = [sys.executable, str(RAW), "tap", ctx.sandbox.url, TOKEN, *specs]
        args += ["--schemas", str(schemas)]
        return [
            measure(
                args,
                ctx.sandbox,
                stdout_file=stdout_file,
                stderr_file=ctx.work / f"{label}.raw.log",
            )
            for _ in range(repeat or ctx.repeat)
        ]

    def model(self, stream: str) -> tuple[Run, Run, float]:
        """One model: raw loop and tap (through a catalog) in turn, ``repeat`` pairs.

        Returns the best raw and tap runs and the median of the pairs' wall ratios: on a
        shared machine a busy spell slows both runs of a pair, not one side's best.
        """
        catalog = ["--catalog", str(self.ctx.catalog_for(stream))]
        pairs = [
            (
                self.raw_tap(stream, [stream], repeat=1)[0],
                self.ctx.tap(stream, catalog, repeat=1)[0],
            )
            for _ in range(self.ctx.repeat)
        ]
        raw = best([r for r, _ in pairs])
        tap = best([t for _, t in pairs])
        ratios = sorted(t.wall / r.wall for r, t in pairs)
        median = statistics.median(ratios)
        path = get_model(stream).path or ""
        cap = get_model(stream).page_cap
        minimum = max(1, math.ceil(tap.records / cap))
        self.report(
            stream,
            raw=raw,
            tap=tap,
            calls=tap.calls("GET", path),
            minimum=minimum,
            cap=cap,
            confirmations=confirmations({stream: tap.records}),
        )
        shown = ", ".join(f"{ratio:.2f}" for ratio in ratios)
        print(f"  tap/raw wall, {len(pairs)} pair(s) run in turn: median {median:.2f}x ({shown})")
        return raw, tap, median

    def catalog(self) -> None:
        """The whole default catalog (no catalog given: default selection)."""
        streams = [
            s["tap_stream_id"]
            for s in self.ctx.catalog["streams"]
            if any(
                not m["breadcrumb"] and m["metadata"].get("selected-by-default", True)
                for m in s["metadata"]
            )
        ]
        raw = best(self.raw_tap("catalog", streams))
        tap = best(self.ctx.tap("catalog", []))
        log = (self.ctx.work / "catalog.raw.log").read_text().strip().splitlines()
        counts: dict[str, int] = json.loads(log[-1])["records"]
        minimum = sum(max(1, math.ceil(counts[s] / get_model(s).page_cap)) for s in streams)
        custom_path = get_model("custom_fields").path or ""
        data_calls = tap.total_calls
        extra_reads = tap.calls("GET", custom_path) - raw.calls("GET", custom_path)
        self.report(
            f"default catalog ({len(streams)} streams)",
            raw=raw,
            tap=tap,
            calls=data_calls,
            minimum=minimum,
            cap=None,
            confirmations=confirmations({s: counts[s] for s in streams}),
            note=f"{extra_reads} /customfields read(s) for typed custom fields at discovery",
            note_calls=extra_reads,
        )

    def report(
        self,
        label: str,
        *,
        raw: Run,
        tap: Run,
        calls: int,
        minimum: int,
        cap: int | None,
        confirmations: tuple[int, int],
        note: str = "",
        note_calls: int = 0,
    ) -> None:
        """Print one tap comparison; ``confirmations``: see :func:`confirmations`."""
        ratio = tap.wall / raw.wall
        print(f"\n[tap] {label}: {tap.records:,} records (raw loop: {raw.records:,})")
        print(
            f"  raw loop     wall {raw.wall:7.2f}s  cpu {raw.cpu:7.2f}s  rss {raw.rss_mb:6.0f} MB"
        )
        print(
            f"  tap-planhat  wall {tap.wall:7.2f}s  cpu {tap.cpu:7.2f}s  rss {tap.rss_mb:6.0f} MB"
        )
        print(f"  tap/raw wall {ratio:.2f}x  cpu {tap.cpu / raw.cpu:.2f}x")
        print(
            f"  tap rate {tap.records / tap.wall:,.0f} records/s; "
            f"CPU per record {1e6 * tap.cpu / max(1, tap.records):.1f} us"
        )
        why = []
        extra = calls - minimum
        full, round_first = confirmations
        if full:
            why.append(f"{full} stream(s) ended on a full page: an empty page proves it was last")
        if round_first:
            why.append(
                f"{round_first} stream(s) have a round count under the page cap: such a first "
                f"page could be a server's cap (multiple of {CAP_STEP}), so it is confirmed"
            )
        if note:
            why.append(note)
        past_end = extra - full - round_first - (note_calls or 0)
        if past_end > 0:
            # Pages read ahead are asked for before the short last page says the list ended
            # (tap_planhat/paging/read_ahead.py, read_ahead_depth); a fast server and a busy reader
            # keep that to one page ahead.
            why.append(f"{past_end} page(s) read ahead past the end")
        elif past_end < 0:
            why.append("UNEXPECTED: fewer than the paging rule needs")
        detail = f" (+{extra}: {'; '.join(why)})" if why else ""
        print(f"  requests {calls} vs minimum ceil(N/cap) = {minimum}{detail}")
        if cap is not None:
            print(f"  other requests {tap.total_calls - calls} (/customfields at discovery)")
        print(f"  raw loop requests {raw.total_calls}")
        if tap.records != raw.records:
            print(f"  WARNING: tap emitted {tap.records} records, raw loop {raw.records}")

    def incremental(self, first: Run) -> None:
        """Touch 1% of companies; a second run with the first run's state."""
        ctx = self.ctx
        ids = ctx.sandbox.ids("companies")
        changed = ids[:: max(1, len(ids) // max(1, len(ids) // 100))][: max(1, len(ids) // 100)]
        for start in range(0, len(changed), 5000):
            ctx.sandbox.admin(
                "POST",
                "touch/companies",
                {"ids": changed[start : start + 5000], "fields": {"phase": "Renewal"}},
            )
        state = ctx.write("state.json", first.last_state or {})
        catalog = ctx.catalog_for("companies")
        second = best(ctx.tap("incremental", ["--catalog", str(catalog), "--state", str(state)]))
        path = get_model("companies").path or ""
        pages, full = second.calls("GET", path), first.calls("GET", path)
        print(f"\n[incremental] companies, {len(changed):,} of {len(ids):,} records changed")
        print(
            f"  second run: {second.records:,} records, {pages} page(s) vs {full} for the "
            f"full scan = {100 * pages / full:.1f}%; wall {second.wall:.2f}s"
        )
