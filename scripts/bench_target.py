"""The target's phases: a Singer file loaded against a raw loop, and reruns with skip_unchanged."""

from __future__ import annotations

import json
import math
import sys
from typing import TYPE_CHECKING

from bench_run import BIN, RAW, TOKEN, Run, best, measure

from planhat_common.registry import get_model

if TYPE_CHECKING:
    from pathlib import Path

    from bench_context import BenchContext

BULK_ITEMS = 5000


class TargetBench:
    """target-planhat against ``benchmark_raw.py target`` on the same Singer file."""

    def __init__(self, ctx: BenchContext) -> None:
        """Measure in ``ctx``."""
        self.ctx = ctx

    def compare(self, singer: Path, label: str) -> tuple[Run, Run]:
        """target-planhat and the raw loop loading the same Singer file."""
        ctx = self.ctx
        path = get_model("companies").path or ""
        raw = best(
            [
                measure(
                    [sys.executable, str(RAW), "target", ctx.sandbox.url, TOKEN, path],
                    ctx.sandbox,
                    stdin=singer,
                    stderr_file=ctx.work / f"{label}.raw-target.log",
                )
                for _ in range(ctx.repeat)
            ]
        )
        target = best(
            [
                measure(
                    [str(BIN / "target-planhat"), "--config", str(ctx.target_config)],
                    ctx.sandbox,
                    stdin=singer,
                    stderr_file=ctx.work / f"{label}.target.log",
                )
                for _ in range(ctx.repeat)
            ]
        )
        return raw, target

    def report(self, n: int, raw: Run, target: Run) -> None:
        """Print the target comparison."""
        path = get_model("companies").path or ""
        minimum = math.ceil(n / BULK_ITEMS)
        print(f"\n[target] {n:,} company records from a Singer file")
        print(
            f"  raw loop        wall {raw.wall:7.2f}s  cpu {raw.cpu:7.2f}s  "
            f"rss {raw.rss_mb:6.0f} MB"
        )
        print(
            f"  target-planhat  wall {target.wall:7.2f}s  cpu {target.cpu:7.2f}s  "
            f"rss {target.rss_mb:6.0f} MB"
        )
        print(f"  target/raw wall {target.wall / raw.wall:.2f}x  cpu {target.cpu / raw.cpu:.2f}x")
        print(
            f"  bulk calls {target.calls('PUT', path)} vs minimum ceil(N/5,000) = {minimum} "
            f"(raw loop {raw.calls('PUT', path)}); other calls "
            f"{target.total_calls - target.calls('PUT', path)}"
        )

    def rerun(self, singer: Path) -> None:
        """A first send, an identical rerun, then a rerun with 3 records changed."""
        ctx = self.ctx
        path = get_model("companies").path or ""
        settings = {**ctx.target_settings, "sync_ledger_path": str(ctx.work / "rerun.ledger")}
        config = ctx.write("target-rerun.json", {**settings, "skip_unchanged": True})
        changed = ctx.work / "companies-3-changed.singer"
        with singer.open("rb") as source, changed.open("wb") as out:
            edits = 0
            for line in source:
                message = json.loads(line)
                if edits < 3 and message.get("type") == "RECORD":  # noqa: PLR2004
                    message["record"]["name"] = f"{message['record'].get('name')} (edited)"
                    line = json.dumps(message).encode() + b"\n"  # noqa: PLW2901
                    edits += 1
                out.write(line)
        args = [str(BIN / "target-planhat"), "--config", str(config)]
        runs = [
            measure(args, ctx.sandbox, stdin=file, stderr_file=ctx.work / f"rerun{i}.log")
            for i, file in enumerate((singer, singer, changed))
        ]
        print(f"\n[rerun] {ctx.n:,} company records, skip_unchanged on")
        for label, run in zip(("first run", "identical rerun", "3 changed"), runs, strict=True):
            print(
                f"  {label:<16} wall {run.wall:6.2f}s  bulk calls {run.calls('PUT', path):>3}  "
                f"all calls {run.total_calls}"
            )
