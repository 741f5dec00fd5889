"""Real `meltano` processes against a sandbox served from this test process."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from planhat_sandbox.testing import SANDBOX_TENANT_TOKEN, SANDBOX_TOKEN

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


@pytest.fixture(scope="session")
def meltano_executable() -> str:
    executable = os.environ.get("PLANHAT_MELTANO")
    if not executable:
        pytest.skip("PLANHAT_MELTANO is not set: run through scripts/test.py")
    subprocess.run([executable, "install"], cwd=ROOT, check=True, capture_output=True, timeout=900)
    return executable


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
    }
    return Meltano(meltano_executable, env)
