"""The benchmark's processes: ``planhat-sandbox``, and each measured child run against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RAW = Path(__file__).resolve().parent / "benchmark_raw.py"
TOKEN = "bench-token"  # noqa: S105 - the local sandbox's own
READ_CHUNK = 1 << 20
#: Children run as on a usual machine: stdout buffered, bytecode cached. Some CI and
#: container images set these two, which would charge every write and every import to
#: whichever side does more of them.
CHILD_ENV = {
    k: v for k, v in os.environ.items() if k not in {"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"}
}

sys.path.insert(0, str(ROOT))

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
            params: dict[str, int | str] = {
                "limit": spec.page_cap,
                "offset": len(found),
                "select": "_id",
            }
            response = requests.get(
                f"{self.url}{spec.path}",
                params=params,
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


def best(runs: list[Run]) -> Run:
    """The fastest of repeated runs."""
    return min(runs, key=lambda r: r.wall)
