"""What every benchmark phase shares: options, the sandbox, the work directory and the catalog."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any

from bench_run import BIN, TOKEN, Run, Sandbox, measure

if TYPE_CHECKING:
    import argparse
    from pathlib import Path


class BenchContext:
    """One sandbox, a work directory, the plugins' configs, and tap-planhat runs against them."""

    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        """Start the sandbox with N companies and N endusers; write the configs."""
        self.n: int = args.records
        self.other: int = args.other_records
        self.repeat: int = args.repeat
        self.work = work
        self.sandbox_log = (work / "sandbox.log").open("w")
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
        repeat: int | None = None,
    ) -> list[Run]:
        """Run tap-planhat ``repeat`` times (default: the ``--repeat`` option)."""
        args = [str(BIN / "tap-planhat"), "--config", str(config or self.tap_config), *extra]
        return [
            measure(
                args,
                self.sandbox,
                stdout_file=stdout_file,
                stderr_file=self.work / f"{label}.tap.log",
            )
            for _ in range(repeat or self.repeat)
        ]

    def singer_file(self, name: str) -> Path:
        """N company records as a Singer file, as tap-planhat emits them.

        The sandbox serves values in every shape the evidence shows and some loosely spelled:
        only the tap's output is guaranteed to match its SCHEMA, which the target validates.
        """
        path = self.work / name
        self.tap("singer-file", ["--catalog", str(self.catalog_for("companies"))], path)
        return path
