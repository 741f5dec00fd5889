"""Benchmark tap-planhat and target-planhat against raw loops, on one local sandbox.

    .venv/bin/python scripts/benchmark.py [--records N] [--big] [--repeat K] [--only PHASES]

Starts ``planhat-sandbox`` as a separate process (its CPU does not share the clients' GIL)
seeded with N companies and N endusers (``--other-records`` for every other model), then
measures, on the same data, each side as a subprocess with its stdout drained from a pipe:

* tap: companies only (via a catalog, typed custom fields on), endusers only, and the whole
  default catalog, each against ``scripts/benchmark_raw.py tap`` (requests + stdlib json
  writing the same RECORD lines); requests made against the minimum, from the sandbox log;
* incremental: after ``POST /_sandbox/touch/companies`` on 1% of the companies, the pages a
  second run (with the first run's state) reads against the full scan;
* target: N company records from a Singer file into the sandbox, against
  ``benchmark_raw.py target`` (bulk PUTs of 5,000); bulk calls against ceil(N / 5,000);
* peak RSS of tap and target at N/10 and N (the sandbox is reseeded with N/10 companies);
* latency: the tap reading ``--latency-records`` companies in small pages at 200 calls a minute
  (real pacing, the sandbox's 200-per-minute limit on) while the sandbox answers 200 ms, 1 s
  and 3 s late: wall time against the budget's floor, calls in flight, 429s, and whether the
  records equal a sequential read's (``bench_latency.py``; paced, so it takes minutes per
  latency: ``--only`` without ``latency`` leaves it out).

Except in the latency phase, pacing is off (``max_requests_per_minute: 0``) on both sides: the
raw loops do not pace, and at Planhat's 200 calls/min the API, not the client, sets the pace.
Wall and CPU times are per child process (``os.wait4``); with ``--repeat`` the best of K runs
is kept (the latency phase runs once). The last line is ``tap/raw=<x> target/raw=<y>``
(wall-time ratios, companies; the tap's is the median of raw/tap pairs run in turn, as a busy
spell slows both runs of a pair), or the latency table with ``--only latency``, which runs that
phase alone, without the companies comparison the other phases build on.

The phases live next to this script: ``bench_tap.py``, ``bench_target.py``, ``bench_rss.py`` and
``bench_latency.py``, sharing ``bench_context.py`` (sandbox, configs, catalog) and
``bench_run.py`` (measured runs).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from bench_catalog_latency import CatalogLatencyBench
from bench_context import BenchContext
from bench_latency import LatencyBench, LatencyOptions
from bench_rss import rss
from bench_tap import TapBench
from bench_target import TargetBench

if TYPE_CHECKING:
    from bench_run import Run

PHASES = ("endusers", "catalog", "incremental", "target", "rerun", "rss", "latency")


def run(ctx: BenchContext, phases: set[str], latency: LatencyOptions) -> None:
    """The chosen phases, in an order where earlier phases do not disturb later ones."""
    print(
        f"Sandbox: {ctx.n:,} companies, {ctx.n:,} endusers, {ctx.other:,} of every "
        f"other model; {os.cpu_count()} CPUs; best of {ctx.repeat} run(s)."
    )
    ctx.discover()
    ratios = against_raw(ctx, phases) if phases - {"latency"} else []
    if "latency" in phases:  # last: it reseeds the sandbox
        if "list" in latency.scenarios:
            LatencyBench(ctx, latency).run()
        if "catalog" in latency.scenarios:
            CatalogLatencyBench(ctx, latency).run()
    if ratios:
        print("\n" + " ".join(ratios))


def against_raw(ctx: BenchContext, phases: set[str]) -> list[str]:
    """The companies comparison, then the chosen phases that build on it; the wall ratios."""
    taps, targets = TapBench(ctx), TargetBench(ctx)
    ratios: list[str] = []
    _raw_companies, tap_companies, paired = taps.model("companies")
    ratios.append(f"tap/raw={paired:.2f}")
    if "endusers" in phases:
        taps.model("endusers")
    if "catalog" in phases:
        taps.catalog()
    if "incremental" in phases:
        taps.incremental(tap_companies)
    target: Run | None = None
    singer: Path | None = None
    if "target" in phases:
        singer = ctx.singer_file("companies.singer")
        raw_target, target = targets.compare(singer, "target")
        targets.report(ctx.n, raw_target, target)
        ratios.append(f"target/raw={target.wall / raw_target.wall:.2f}")
    if "rerun" in phases:
        targets.rerun(singer or ctx.singer_file("companies.singer"))
    if "rss" in phases:
        rss(ctx, tap_companies, target, singer)
    return ratios


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=None, help="N (default 100,000)")
    parser.add_argument("--big", action="store_true", help="N = 1,000,000")
    parser.add_argument(
        "--other-records",
        type=int,
        default=1234,
        help="records of every other model (default 1,234: a count that is a multiple of 100 "
        "costs one more request per stream, see planhat_common/paging.py)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--only",
        default=",".join(PHASES),
        help=f"comma-separated phases besides the companies tap run (default: {','.join(PHASES)})",
    )
    LatencyOptions.add_arguments(parser)
    args = parser.parse_args()
    if args.records is None:
        args.records = 1_000_000 if args.big else 100_000
    work = Path(tempfile.mkdtemp(prefix="planhat-bench-"))
    ctx = BenchContext(args, work)
    try:
        run(ctx, set(args.only.split(",")), LatencyOptions.from_args(args))
    finally:
        ctx.close()
        if args.keep:
            print(f"(work directory kept: {work})")
        else:
            for item in work.iterdir():
                item.unlink()
            work.rmdir()


if __name__ == "__main__":
    main()
