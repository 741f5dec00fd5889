"""Real `meltano` processes against a sandbox served from this test process."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_fixtures import SANDBOX_TENANT_TOKEN, SANDBOX_TOKEN

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Meltano:
    """Runs meltano in this repository's project with an isolated system database."""

    executable: str
    env: dict[str, str]

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.executable, "--environment", "dev", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"meltano {' '.join(args)} exited {result.returncode}:\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
            )
        return result

    def use_sandbox(self, sandbox: Any) -> None:
        """Point the `dev` environment (tap-planhat, target-planhat) at ``sandbox``."""
        self.env["PLANHAT_SANDBOX_URL"] = sandbox.url

    def use_copy_sandbox(self, sandbox: Any) -> None:
        """Point target-planhat-copy at ``sandbox``."""
        self.env["PLANHAT_COPY_API_URL"] = sandbox.url
        self.env["PLANHAT_COPY_ANALYTICS_URL"] = sandbox.url

    @staticmethod
    def summary(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, int]]:
        """target-planhat's end-of-run summary table from a run's log, by stream (and TOTAL)."""
        return load_summary(result.stdout + result.stderr)


def load_summary(output: str) -> dict[str, dict[str, int]]:
    """Parse the last "Planhat load summary" table in ``output``."""
    lines = output.splitlines()
    start = max(i for i, line in enumerate(lines) if "Planhat load summary" in line)
    header = lines[start + 1].split()
    table: dict[str, dict[str, int]] = {}
    for line in lines[start + 3 :]:
        cells = line.split()
        if not cells:
            break
        if cells[0] == "TOTAL":
            cells = [cells[0], "-", "-", *cells[1:]]
        if len(cells) != len(header):
            break
        table[cells[0]] = {h: int(c) for h, c in zip(header[3:], cells[3:], strict=True)}
        if cells[0] == "TOTAL":
            break
    return table


@pytest.fixture
def meltano(meltano_executable: str, sandbox: Any, tmp_path: Path) -> Meltano:
    env = {
        **os.environ,
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PLANHAT_SANDBOX_URL": sandbox.url,
        "PLANHAT_SANDBOX_TOKEN": SANDBOX_TOKEN,
        "PLANHAT_SANDBOX_TENANT_TOKEN": SANDBOX_TENANT_TOKEN,
        "TARGET_DUCKDB_PATH": str(tmp_path / "planhat.duckdb"),
        "TARGET_JSONL_DESTINATION_PATH": str(tmp_path / "jsonl"),
        "TARGET_PLANHAT_DEAD_LETTER_PATH": str(tmp_path / "dead_letter.jsonl"),
        "TARGET_PLANHAT_COPY_DEAD_LETTER_PATH": str(tmp_path / "copy_dead_letter.jsonl"),
        "TARGET_PLANHAT_PUSH_LEDGER_PATH": str(tmp_path / "push_ledger.jsonl"),
        "TARGET_PLANHAT_COPY_PUSH_LEDGER_PATH": str(tmp_path / "copy_push_ledger.jsonl"),
        "TARGET_PLANHAT_SYNC_LEDGER_PATH": str(tmp_path / "sync_ledger"),
        "TARGET_PLANHAT_COPY_SYNC_LEDGER_PATH": str(tmp_path / "copy_sync_ledger"),
        "PLANHAT_COPY_API_TOKEN": SANDBOX_TOKEN,
        "PLANHAT_COPY_TENANT_TOKEN": SANDBOX_TENANT_TOKEN,
    }
    return Meltano(meltano_executable, env)
