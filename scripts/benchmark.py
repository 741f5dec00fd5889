"""Benchmark tap-planhat and target-planhat against raw loops, on one local sandbox.

    .venv/bin/python scripts/benchmark.py [--records N] [--big] [--repeat K]

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
* peak RSS of tap and target at N/10 and N (the sandbox is reseeded with N/10 companies).

Pacing is off (``max_requests_per_minute: 0``) on both sides: the raw loops do not pace, and
at Planhat's 200 calls/min the API, not the client, sets the pace. Wall and CPU times are
per child process (``os.wait4``); with ``--repeat`` the best of K runs is kept. The last line
is ``tap/raw=<x> target/raw=<y>`` (wall-time ratios, companies).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RAW = Path(__file__).resolve().parent / "benchmark_raw.py"
TOKEN = "bench-token"  # noqa: S105 - the local sandbox's own
BULK_ITEMS = 5000
READ_CHUNK = 1 << 20
#: Page and batch size of the RSS comparison (see Bench.rss).
RSS_PAGE = 500
PHASES = ("endusers", "catalog", "incremental", "target", "rerun", "rss")
#: Children run as on a usual machine: stdout buffered, bytecode cached. Some CI and
#: container images set these two, which would charge every write and every import to
#: whichever side does more of them.
CHILD_ENV = {
    k: v for k, v in os.environ.items() if k not in {"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}
}

sys.path.insert(0, str(ROOT))

from planhat_common.paging import CAP_STEP  # noqa: E402
from planhat_common.registry import get_model  # noqa: E402


@dataclass
class Run:
    """One measured child process."""

    wall: float
    cpu: float
    rss_mb: float
    records: int = 0
    last_state: dict[str, Any] | None = None
    requests: dict[tuple[str, str], int] = field(default_factory=dict)

    def calls(self, method: str, path: str) -> int:
        """Requests made with ``method`` to ``path``."""
        return self.requests.get((method, path), 0)

    @property
    def total_calls(self) -> int:
        """Every logged request."""
        return sum(self.requests.values())


class Sandbox:
    """``planhat-sandbox`` in its own process."""

    def __init__(self, records: int, model_records: dict[str, int], log: IO[str]) -> None:
        """Start it and wait for its URL."""
        args = [str(BIN / "planhat-sandbox"), "--port", "0", "--token", TOKEN, "--rate-limit", "0"]
        args += ["--records", str(records)]
        for name, count in model_records.items():
            args += ["--model-records", f"{name}={count}"]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)
        assert self.process.stdout is not None  # noqa: S101 - set by PIPE
        self.url = ""
        for line in self.process.stdout:
            name, _, value = line.strip().partition("=")
            if name == "PLANHAT_API_URL":
                self.url = value
                break
        if not self.url:
            self.stop()
            raise RuntimeError("planhat-sandbox exited before printing its URL")

    def admin(self, method: str, route: str, body: Any = None) -> Any:
        """Call an admin route."""
        response = requests.request(method, f"{self.url}/_sandbox/{route}", json=body, timeout=600)
        response.raise_for_status()
        return response.json()

    def clear_log(self) -> None:
        """Forget logged requests."""
        self.admin("DELETE", "requests")

    def counts(self) -> dict[tuple[str, str], int]:
        """Logged requests per (method, path)."""
        totals: dict[tuple[str, str], int] = {}
        for row in self.admin("GET", "requests")["counts"]:
            key = (row["method"], row["path"])
            totals[key] = totals.get(key, 0) + row["count"]
        return totals

    def ids(self, model: str) -> list[str]:
        """Every ``_id`` of a model (the log is cleared afterwards)."""
        spec = get_model(model)
        found: list[str] = []
        while True:
            response = requests.get(
                f"{self.url}{spec.path}",
                params={"limit": spec.page_cap, "offset": len(found), "select": "_id"},
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=600,
            )
            response.raise_for_status()
            page = response.json()
            found += [r["_id"] for r in page]
            if len(page) < spec.page_cap:
                break
        self.clear_log()
        return found

    def stop(self) -> None:
        """Terminate it."""
        self.process.terminate()
        self.process.wait(timeout=30)


def measure(
    args: list[str],
    sandbox: Sandbox,
    *,
    stdin: Path | None = None,
    stdout_file: Path | None = None,
    stderr_file: Path,
) -> Run:
    """Run ``args``, drain its stdout, and return its times, peak RSS and requests."""
    sandbox.clear_log()
    with (
        stderr_file.open("w") as err,
        stdin.open("rb") if stdin else open(os.devnull, "rb") as inp,  # noqa: PTH123
    ):
        start = time.perf_counter()
        process = subprocess.Popen(
            args, stdin=inp, stdout=subprocess.PIPE, stderr=err, env=CHILD_ENV
        )
        assert process.stdout is not None  # noqa: S101 - set by PIPE
        records, last_state = _drain(process.stdout, stdout_file)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        tail = stderr_file.read_text()[-3000:]
        raise RuntimeError(f"{args[0]} exited {process.returncode}:\n{tail}")
    return Run(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        rss_mb=usage.ru_maxrss / 1024,
        records=records,
        last_state=last_state,
        requests=sandbox.counts(),
    )


def _drain(stream: IO[bytes], copy_to: Path | None) -> tuple[int, dict[str, Any] | None]:
    """Count RECORD lines and keep the last STATE, reading in large chunks."""
    records = 0
    state_line = b""
    rest = b""
    sink = copy_to.open("wb") if copy_to else None
    try:
        while chunk := stream.read(READ_CHUNK):
            if sink:
                sink.write(chunk)
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                head = line[:40]
                if b'"RECORD"' in head:
                    records += 1
                elif b'"STATE"' in head:
                    state_line = line
    finally:
        if sink:
            sink.close()
    state = json.loads(state_line)["value"] if state_line else None
    return records, state


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


def best(runs: list[Run]) -> Run:
    """The fastest of repeated runs."""
    return min(runs, key=lambda r: r.wall)


class Bench:
    """The whole benchmark, sharing one sandbox and a work directory."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        """Remember options; the sandbox starts in :meth:`run`."""
        self.n: int = args.records
        self.other: int = args.other_records
        self.repeat: int = args.repeat
        self.work = work
        self.sandbox_log = (work / "sandbox.log").open("w")
        self.results: dict[str, Any] = {}
        self.sandbox = Sandbox(
            self.other, {"companies": self.n, "endusers": self.n}, self.sandbox_log
        )
        self.tap_settings = {
            "api_url": self.sandbox.url,
            "api_token": TOKEN,
            "max_requests_per_minute": 0,
        }
        self.tap_config = self.write("tap.json", self.tap_settings)
        self.target_settings = {
            **self.tap_settings,
            "dead_letter_path": str(work / "dead_letter.jsonl"),
            # Every measured run sends everything (and keeps the ledger up to date, as a
            # real run does); the rerun phase measures what skip_unchanged saves.
            "sync_ledger_path": str(work / "sync_ledger"),
            "skip_unchanged": False,
        }
        self.target_config = self.write("target.json", self.target_settings)
        self.catalog: dict[str, Any] = {}

    def write(self, name: str, data: Any) -> Path:
        """A JSON file in the work directory."""
        path = self.work / name
        path.write_text(json.dumps(data))
        return path

    def close(self) -> None:
        """Stop the sandbox."""
        self.sandbox.stop()
        self.sandbox_log.close()

    # -- helpers --------------------------------------------------------------------------

    def discover(self) -> None:
        """The tap's catalog (typed custom fields on)."""
        result = subprocess.run(
            [str(BIN / "tap-planhat"), "--config", str(self.tap_config), "--discover"],
            capture_output=True,
            check=True,
        )
        self.catalog = json.loads(result.stdout)

    def catalog_for(self, stream: str) -> Path:
        """A catalog selecting only ``stream``."""
        catalog = json.loads(json.dumps(self.catalog))
        for entry in catalog["streams"]:
            for meta in entry["metadata"]:
                if not meta["breadcrumb"]:
                    meta["metadata"]["selected"] = entry["tap_stream_id"] == stream
        return self.write(f"catalog-{stream}.json", catalog)

    def schema_of(self, stream: str) -> dict[str, Any]:
        """The schema the tap publishes for ``stream``."""
        entry = next(e for e in self.catalog["streams"] if e["tap_stream_id"] == stream)
        schema: dict[str, Any] = entry["schema"]
        return schema

    def tap(
        self,
        label: str,
        extra: list[str],
        stdout_file: Path | None = None,
        config: Path | None = None,
    ) -> list[Run]:
        """Run tap-planhat ``repeat`` times."""
        args = [str(BIN / "tap-planhat"), "--config", str(config or self.tap_config), *extra]
        return [
            measure(
                args,
                self.sandbox,
                stdout_file=stdout_file,
                stderr_file=self.work / f"{label}.tap.log",
            )
            for _ in range(self.repeat)
        ]

    def raw_tap(self, label: str, streams: list[str], stdout_file: Path | None = None) -> list[Run]:
        """Run the raw tap loop ``repeat`` times over ``streams``."""
        specs = []
        for stream in streams:
            model = get_model(stream)
            sort = f"-{model.replication_key}" if model.replication_key else "_id"
            specs.append(f"{stream}:{model.path}:{model.page_cap}:{sort}")
        schemas = self.write("schemas.json", {s: self.schema_of(s) for s in streams})
        args = [sys.executable, str(RAW), "tap", self.sandbox.url, TOKEN, *specs]
        args += ["--schemas", str(schemas)]
        return [
            measure(
                args,
                self.sandbox,
                stdout_file=stdout_file,
                stderr_file=self.work / f"{label}.raw.log",
            )
            for _ in range(self.repeat)
        ]

    # -- phases ---------------------------------------------------------------------------

    def tap_model(self, stream: str) -> tuple[Run, Run]:
        """One model: raw loop, then the tap, selected through a catalog."""
        raw = best(self.raw_tap(stream, [stream]))
        tap = best(self.tap(stream, ["--catalog", str(self.catalog_for(stream))]))
        path = get_model(stream).path or ""
        cap = get_model(stream).page_cap
        minimum = max(1, math.ceil(tap.records / cap))
        self.report_tap(
            stream,
            raw=raw,
            tap=tap,
            calls=tap.calls("GET", path),
            minimum=minimum,
            cap=cap,
            confirmations=confirmations({stream: tap.records}),
        )
        return raw, tap

    def tap_catalog(self) -> None:
        """The whole default catalog (no catalog given: default selection)."""
        streams = [
            s["tap_stream_id"]
            for s in self.catalog["streams"]
            if any(
                not m["breadcrumb"] and m["metadata"].get("selected-by-default", True)
                for m in s["metadata"]
            )
        ]
        raw = best(self.raw_tap("catalog", streams))
        tap = best(self.tap("catalog", []))
        log = (self.work / "catalog.raw.log").read_text().strip().splitlines()
        counts: dict[str, int] = json.loads(log[-1])["records"]
        minimum = sum(max(1, math.ceil(counts[s] / get_model(s).page_cap)) for s in streams)
        custom_path = get_model("custom_fields").path or ""
        data_calls = tap.total_calls
        extra_reads = tap.calls("GET", custom_path) - raw.calls("GET", custom_path)
        self.report_tap(
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

    def report_tap(
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
        if extra != full + round_first + (note_calls or 0):
            why.append("UNEXPECTED: more than the paging rule explains")
        detail = f" (+{extra}: {'; '.join(why)})" if why else ""
        print(f"  requests {calls} vs minimum ceil(N/cap) = {minimum}{detail}")
        if cap is not None:
            print(f"  other requests {tap.total_calls - calls} (/customfields at discovery)")
        print(f"  raw loop requests {raw.total_calls}")
        if tap.records != raw.records:
            print(f"  WARNING: tap emitted {tap.records} records, raw loop {raw.records}")

    def incremental(self, first: Run) -> None:
        """Touch 1% of companies; a second run with the first run's state."""
        ids = self.sandbox.ids("companies")
        changed = ids[:: max(1, len(ids) // max(1, len(ids) // 100))][: max(1, len(ids) // 100)]
        for start in range(0, len(changed), 5000):
            self.sandbox.admin(
                "POST",
                "touch/companies",
                {"ids": changed[start : start + 5000], "fields": {"phase": "Renewal"}},
            )
        state = self.write("state.json", first.last_state or {})
        catalog = self.catalog_for("companies")
        second = best(self.tap("incremental", ["--catalog", str(catalog), "--state", str(state)]))
        path = get_model("companies").path or ""
        pages, full = second.calls("GET", path), first.calls("GET", path)
        print(f"\n[incremental] companies, {len(changed):,} of {len(ids):,} records changed")
        print(
            f"  second run: {second.records:,} records, {pages} page(s) vs {full} for the "
            f"full scan = {100 * pages / full:.1f}%; wall {second.wall:.2f}s"
        )

    def target(self, singer: Path, label: str) -> tuple[Run, Run]:
        """target-planhat and the raw loop loading the same Singer file."""
        path = get_model("companies").path or ""
        raw = best(
            [
                measure(
                    [sys.executable, str(RAW), "target", self.sandbox.url, TOKEN, path],
                    self.sandbox,
                    stdin=singer,
                    stderr_file=self.work / f"{label}.raw-target.log",
                )
                for _ in range(self.repeat)
            ]
        )
        target = best(
            [
                measure(
                    [str(BIN / "target-planhat"), "--config", str(self.target_config)],
                    self.sandbox,
                    stdin=singer,
                    stderr_file=self.work / f"{label}.target.log",
                )
                for _ in range(self.repeat)
            ]
        )
        return raw, target

    def report_target(self, n: int, raw: Run, target: Run) -> None:
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
        path = get_model("companies").path or ""
        settings = {**self.target_settings, "sync_ledger_path": str(self.work / "rerun.ledger")}
        config = self.write("target-rerun.json", {**settings, "skip_unchanged": True})
        changed = self.work / "companies-3-changed.singer"
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
            measure(args, self.sandbox, stdin=file, stderr_file=self.work / f"rerun{i}.log")
            for i, file in enumerate((singer, singer, changed))
        ]
        print(f"\n[rerun] {self.n:,} company records, skip_unchanged on")
        for label, run in zip(("first run", "identical rerun", "3 changed"), runs, strict=True):
            print(
                f"  {label:<16} wall {run.wall:6.2f}s  bulk calls {run.calls('PUT', path):>3}  "
                f"all calls {run.total_calls}"
            )

    def singer_file(self, name: str) -> Path:
        """N company records as a Singer file, as tap-planhat emits them.

        The sandbox serves values in every shape the evidence shows and some loosely spelled:
        only the tap's output is guaranteed to match its SCHEMA, which the target validates.
        """
        path = self.work / name
        self.tap("singer-file", ["--catalog", str(self.catalog_for("companies"))], path)
        return path

    def run(self, phases: set[str]) -> None:
        """The chosen phases, in an order where earlier phases do not disturb later ones."""
        print(
            f"Sandbox: {self.n:,} companies, {self.n:,} endusers, {self.other:,} of every "
            f"other model; {os.cpu_count()} CPUs; best of {self.repeat} run(s)."
        )
        self.discover()
        ratios: list[str] = []
        raw_companies, tap_companies = self.tap_model("companies")
        ratios.append(f"tap/raw={tap_companies.wall / raw_companies.wall:.2f}")
        if "endusers" in phases:
            self.tap_model("endusers")
        if "catalog" in phases:
            self.tap_catalog()
        if "incremental" in phases:
            self.incremental(tap_companies)
        target: Run | None = None
        singer: Path | None = None
        if "target" in phases:
            singer = self.singer_file("companies.singer")
            raw_target, target = self.target(singer, "target")
            self.report_target(self.n, raw_target, target)
            ratios.append(f"target/raw={target.wall / raw_target.wall:.2f}")
        if "rerun" in phases:
            self.rerun(singer or self.singer_file("companies.singer"))
        if "rss" in phases:
            self.rss(tap_companies, target, singer)
        print("\n" + " ".join(ratios))

    def rss(self, tap: Run, target: Run | None, singer: Path | None) -> None:
        """Peak RSS at N/10 against N, in pages and batches of RSS_PAGE records.

        With full-size pages N/10 holds only two of them, so its peak misses the overlap a
        longer run reaches (one page fetched while the previous one is written, one batch
        sent while the next is read) and the ratio says nothing about accumulation. With
        small pages both sizes run many pages and reach their steady state: a flat ratio
        means nothing grows with N. The full-size peaks at N are the ones printed above.
        """
        small = max(1, self.n // 10)
        print(
            f"\n[rss] peak RSS in pages and batches of {RSS_PAGE:,} records "
            f"({small // RSS_PAGE:,} and {self.n // RSS_PAGE:,} of them)"
        )
        tap_config = self.write("rss-tap.json", {**self.tap_settings, "page_size": RSS_PAGE})
        target_config = self.write(
            "rss-target.json", {**self.target_settings, "batch_size_rows": RSS_PAGE}
        )
        catalog = ["--catalog", str(self.catalog_for("companies"))]
        sizes: dict[str, list[float]] = {"tap": [], "target": []}
        for count in (self.n, small):
            if count != self.n:
                self.sandbox.admin(
                    "POST",
                    "reset",
                    {"records": self.other, "model_records": {"companies": count}},
                )
                singer = self.singer_file("companies-small.singer") if target else None
            sizes["tap"].append(best(self.tap("rss", catalog, config=tap_config)).rss_mb)
            if singer is not None:
                args = [str(BIN / "target-planhat"), "--config", str(target_config)]
                run = measure(args, self.sandbox, stdin=singer, stderr_file=self.work / "r.log")
                sizes["target"].append(run.rss_mb)
        for side, (at_n, at_small) in ((k, v) for k, v in sizes.items() if v):
            print(
                f"  {side:<7} peak RSS {at_small:6.0f} MB at {small:,}, {at_n:6.0f} MB at "
                f"{self.n:,}: {at_n / at_small:.2f}x"
            )
        print(
            f"  at full size (pages of 5,000): tap {tap.rss_mb:.0f} MB"
            + (f", target {target.rss_mb:.0f} MB" if target is not None else "")
        )


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
    args = parser.parse_args()
    if args.records is None:
        args.records = 1_000_000 if args.big else 100_000
    work = Path(tempfile.mkdtemp(prefix="planhat-bench-"))
    bench = Bench(args, work)
    try:
        bench.run(set(args.only.split(",")))
    finally:
        bench.close()
        if args.keep:
            print(f"(work directory kept: {work})")
        else:
            for item in work.iterdir():
                item.unlink()
            work.rmdir()


if __name__ == "__main__":
    main()
