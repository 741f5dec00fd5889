"""The RSS phase: whether tap and target memory grows with the number of records."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench_run import BIN, Run, best, measure

if TYPE_CHECKING:
    from pathlib import Path

    from bench_context import BenchContext

#: Page and batch size of the RSS comparison (see :func:`rss`).
RSS_PAGE = 500


def rss(ctx: BenchContext, tap: Run, target: Run | None, singer: Path | None) -> None:
    """Peak RSS at N/10 against N, in pages and batches of RSS_PAGE records.

    With full-size pages N/10 holds only two of them, so its peak misses the overlap a
    longer run reaches (one page fetched while the previous one is written, one batch
    sent while the next is read) and the ratio says nothing about accumulation. With
    small pages both sizes run many pages and reach their steady state: a flat ratio
    means nothing grows with N. The full-size peaks at N are the ones printed above.
    """
    small = max(1, ctx.n // 10)
    print(
        f"\n[rss] peak RSS in pages and batches of {RSS_PAGE:,} records "
        f"({small // RSS_PAGE:,} and {ctx.n // RSS_PAGE:,} of them)"
    )
    tap_config = ctx.write("rss-tap.json", {**ctx.tap_settings, "page_size": RSS_PAGE})
    target_config = ctx.write(
        "rss-target.json", {**ctx.target_settings, "batch_size_rows": RSS_PAGE}
    )
    catalog = ["--catalog", str(ctx.catalog_for("companies"))]
    sizes: dict[str, list[float]] = {"tap": [], "target": []}
    for count in (ctx.n, small):
        if count != ctx.n:
            ctx.sandbox.admin(
                "POST",
                "reset",
                {"records": ctx.other, "model_records": {"companies": count}},
            )
            singer = ctx.singer_file("companies-small.singer") if target else None
        sizes["tap"].append(best(ctx.tap("rss", catalog, config=tap_config)).rss_mb)
        if singer is not None:
            args = [str(BIN / "target-planhat"), "--config", str(target_config)]
            run = measure(args, ctx.sandbox, stdin=singer, stderr_file=ctx.work / "r.log")
            sizes["target"].append(run.rss_mb)
    for side, (at_n, at_small) in ((k, v) for k, v in sizes.items() if v):
        print(
            f"  {side:<7} peak RSS {at_small:6.0f} MB at {small:,}, {at_n:6.0f} MB at "
            f"{ctx.n:,}: {at_n / at_small:.2f}x"
        )
    print(
        f"  at full size (pages of 5,000): tap {tap.rss_mb:.0f} MB"
        + (f", target {target.rss_mb:.0f} MB" if target is not None else "")
    )
