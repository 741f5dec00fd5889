"""The latency phase: tap-planhat reading companies from a slow API within Planhat's budget.

Planhat answers a list call in 0.2 to 3 s and allows 200 calls a minute (one every 0.3 s). A
tap making one call at a time is bound by the latency, not the budget, once an answer takes
longer than 0.3 s; this phase measures how far from the budget's floor a read of about 250
pages ends, at each latency in turn:

* the sandbox is reseeded with ``--latency-records`` companies (default 24,950: 250 pages of
  ``--latency-page-size`` 100), answers every main-API call ``latency_ms`` late (its
  ``latency_ms`` fault) and limits calls to 200 per fixed 60-second window, like
  ``planhat-sandbox --rate-limit 200`` (``PUT /_sandbox/rate_limit``, a fresh window per run);
* the tap runs with ``max_requests_per_minute: 200`` (real pacing) and ``page_size``;
* first a reference run at latency 0, one call at a time (``max_parallel_requests: 1`` when
  the tap has that setting), then one run per latency; each run's RECORD messages (stream and
  record, in order) are digested and compared with the reference's.

Per run: wall time, list calls against the minimum a sequential read makes, the budget floor
(every main-API call of the run x 60 / 200 s) and wall / floor, the most calls in flight at
once as the sandbox saw them, 429 answers, and the tap's peak RSS. The phase ends with the
same numbers as a markdown table for docs/performance.md.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from bench_run import BIN, Run, measure

from planhat_common.paging import CAP_STEP
from planhat_common.registry import get_model

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from bench_context import BenchContext

#: Planhat's documented budget (docs/planhat-api.md, "Rate limits and retries").
BUDGET_PER_MINUTE = 200
RATE_WINDOW_SECONDS = 60.0
STREAM = "companies"
PARALLEL_SETTING = "max_parallel_requests"


@dataclass
class LatencyOptions:
    """What the phase reads, and at which latencies."""

    records: int = 24_950
    page_size: int = 100
    latencies: tuple[int, ...] = (200, 1000, 3000)
    parallel: int | None = None
    #: "list": one long list (below); "catalog": many streams (bench_catalog_latency.py).
    scenarios: tuple[str, ...] = ("list", "catalog")

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """The phase's command-line options."""
        parser.add_argument(
            "--latency-records",
            type=int,
            default=cls.records,
            help=f"companies read by the latency phase (default {cls.records:,}: "
            f"{minimum_calls(cls.records, cls.page_size)} list calls at least)",
        )
        parser.add_argument(
            "--latency-page-size", type=int, default=cls.page_size, help="the tap's page_size"
        )
        parser.add_argument(
            "--latencies",
            default=",".join(map(str, cls.latencies)),
            help="answer delays in ms, comma-separated (default: %(default)s)",
        )
        parser.add_argument(
            "--latency-parallel",
            type=int,
            default=None,
            help=f"{PARALLEL_SETTING} for the latency runs (default: the tap's own)",
        )
        parser.add_argument(
            "--latency-scenarios",
            default=",".join(cls.scenarios),
            help="list (one long list), catalog (21 streams), comma-separated "
            "(default: %(default)s)",
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LatencyOptions:
        """The options parsed by :meth:`add_arguments`.

        Raises:
            SystemExit: a scenario the phase does not have (a typo would measure nothing).
        """
        scenarios = tuple(s.strip() for s in args.latency_scenarios.split(",") if s.strip())
        unknown = sorted(set(scenarios) - set(cls.scenarios))
        if unknown:
            raise SystemExit(
                f"--latency-scenarios: no scenario {', '.join(unknown)} "
                f"(there are: {', '.join(cls.scenarios)})"
            )
        return cls(
            records=args.latency_records,
            page_size=args.latency_page_size,
            latencies=tuple(int(ms) for ms in args.latencies.split(",") if ms.strip()),
            parallel=args.latency_parallel,
            scenarios=scenarios,
        )


def minimum_calls(records: int, limit: int) -> int:
    """The list calls a sequential read of ``records`` makes in pages of ``limit``.

    The rule of planhat_common/paging.py's OffsetPager: a full page may be followed by more,
    so a read ending on a full page asks for one more (empty) page; a short *first* page of a
    round size (a multiple of CAP_STEP) could be a server's cap, so it is confirmed too.
    """
    pages = max(1, math.ceil(records / limit))
    if records and records % limit == 0:
        return pages + 1
    if 0 < records < limit and records % CAP_STEP == 0:
        return pages + 1
    return pages


@dataclass
class LatencyRun:
    """One measured read and what the sandbox saw of it."""

    label: str
    run: Run
    list_calls: int
    main_calls: int
    max_in_flight: int
    throttled: int
    digest: str

    @property
    def floor(self) -> float:
        """The least time the run's main-API calls take within the budget."""
        return self.main_calls * 60 / BUDGET_PER_MINUTE


class LatencyBench:
    """Reads of one stream at several latencies, against a sequential reference read."""

    def __init__(self, ctx: BenchContext, options: LatencyOptions) -> None:
        """Measure in ``ctx``."""
        self.ctx = ctx
        self.options = options
        self.limit = min(options.page_size, get_model(STREAM).page_cap)
        self.minimum = minimum_calls(options.records, self.limit)
        self.has_parallel = PARALLEL_SETTING in self._tap_settings()

    def run(self) -> list[LatencyRun]:
        """The reference read, then one read per latency; prints a line per run and the table."""
        ctx, options = self.ctx, self.options
        print(
            f"\n[latency] {STREAM}: {options.records:,} records in pages of {self.limit} "
            f"(at least {self.minimum} list calls); tap paced to {BUDGET_PER_MINUTE}/min, "
            f"sandbox limit {BUDGET_PER_MINUTE} per {RATE_WINDOW_SECONDS:.0f} s window"
        )
        if not self.has_parallel:
            print(f"  (the tap has no {PARALLEL_SETTING} setting: every run uses its default)")
        ctx.sandbox.admin(
            "POST", "reset", {"records": ctx.other, "model_records": {STREAM: options.records}}
        )
        try:
            runs = [self._read("0 ms (reference)", 0, 1)]
            runs += [self._read(f"{ms:,} ms", ms, options.parallel) for ms in options.latencies]
        finally:
            ctx.sandbox.admin("PUT", "faults", {})
            ctx.sandbox.admin("PUT", "rate_limit", {"per_minute": 0})
        print()
        print("\n".join(self.table(runs)))
        return runs

    def _read(self, label: str, latency_ms: int, parallel: int | None) -> LatencyRun:
        """One read of the stream with the sandbox answering ``latency_ms`` late."""
        ctx = self.ctx
        settings = {
            **ctx.tap_settings,
            "max_requests_per_minute": BUDGET_PER_MINUTE,
            "page_size": self.options.page_size,
        }
        if parallel is not None and self.has_parallel:
            settings[PARALLEL_SETTING] = parallel
        read = read_under_latency(ctx, "latency", settings, ctx.catalog_for(STREAM), latency_ms)
        run = read.run
        result = LatencyRun(
            label=label,
            run=run,
            list_calls=run.calls("GET", get_model(STREAM).path or ""),
            main_calls=run.total_calls,
            max_in_flight=read.max_in_flight,
            throttled=read.throttled,
            digest=read.digest,
        )
        print(
            f"  {label:<18} wall {run.wall:7.1f}s  list calls {result.list_calls} "
            f"(min {self.minimum})  floor {result.floor:5.1f}s  in flight {result.max_in_flight}"
            f"  429s {result.throttled}  rss {run.rss_mb:.0f} MB  records {run.records:,}",
            flush=True,
        )
        return result

    def table(self, runs: list[LatencyRun]) -> list[str]:
        """The runs as a markdown table (the first run is the reference)."""
        reference = runs[0].digest
        columns = (
            "latency",
            "wall",
            "list calls (minimum)",
            "budget floor",
            "wall / floor",
            "max in flight",
            "429s",
            "peak RSS",
            "same records",
        )
        lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
        for index, item in enumerate(runs):
            same = "(reference)" if index == 0 else ("yes" if item.digest == reference else "no")
            lines.append(
                f"| {item.label} | {item.run.wall:.1f} s | {item.list_calls} ({self.minimum}) "
                f"| {item.floor:.1f} s | {item.run.wall / item.floor:.2f}x "
                f"| {item.max_in_flight} | {item.throttled} | {item.run.rss_mb:.0f} MB | {same} |"
            )
        return lines

    def _tap_settings(self) -> set[str]:
        """The setting names the installed tap declares (``--about``)."""
        about = subprocess.run(
            [str(BIN / "tap-planhat"), "--about", "--format", "json"],
            capture_output=True,
            check=True,
        )
        return set(json.loads(about.stdout)["settings"]["properties"])


@dataclass(frozen=True)
class LatencyRead:
    """One tap run against the sandbox under a latency and the budget's rate limit."""

    run: Run
    max_in_flight: int
    throttled: int
    digest: str


def read_under_latency(
    ctx: BenchContext,
    name: str,
    settings: dict[str, Any],
    catalog: Path,
    latency_ms: int,
    *,
    state: dict[str, Any] | None = None,
) -> LatencyRead:
    """Run tap-planhat with ``settings`` and ``catalog``, every answer ``latency_ms`` late.

    A fresh rate window for every run, as if the tenant had been idle for a minute. With
    ``state``, the run starts from it (an incremental run).
    """
    config = ctx.write(f"{name}-tap.json", settings)
    ctx.sandbox.admin("PUT", "faults", {"latency_ms": latency_ms})
    ctx.sandbox.admin(
        "PUT",
        "rate_limit",
        {"per_minute": BUDGET_PER_MINUTE, "window_seconds": RATE_WINDOW_SECONDS},
    )
    output = ctx.work / f"{name}.singer"
    args = [str(BIN / "tap-planhat"), "--config", str(config), "--catalog", str(catalog)]
    if state is not None:
        args += ["--state", str(ctx.write(f"{name}-state.json", state))]
    run = measure(args, ctx.sandbox, stdout_file=output, stderr_file=ctx.work / f"{name}.log")
    summary = ctx.sandbox.admin("GET", "requests/summary")
    digest = record_digest(output)
    output.unlink()
    return LatencyRead(
        run=run,
        max_in_flight=summary["max_in_flight"],
        throttled=summary["statuses"].get("429", 0),
        digest=digest,
    )


def record_digest(singer: Path) -> str:
    """SHA-256 of the RECORD messages' streams and records, in order (keys sorted).

    Leaves out ``time_extracted`` and every other message: only what a loader stores counts.
    """
    digest = hashlib.sha256()
    with singer.open("rb") as lines:
        for line in lines:
            if b'"RECORD"' not in line[:40]:
                continue
            message = orjson.loads(line)
            digest.update(message["stream"].encode())
            digest.update(orjson.dumps(message["record"], option=orjson.OPT_SORT_KEYS))
            digest.update(b"\n")
    return digest.hexdigest()
