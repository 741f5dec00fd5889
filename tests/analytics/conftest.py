"""The dbt package (analytics/) on real loads: a seeded sandbox, `meltano run`, `meltano invoke`.

One sandbox and one extract per backend (module-scoped), reused by every test of the module.
The meltano and PostgreSQL fixtures are the session's (tests/pipeline_fixtures.py).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.meltano.conftest import Meltano
from tests.sandbox_fixtures import SANDBOX_TENANT_TOKEN, SANDBOX_TOKEN, SandboxServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

__all__ = ["AnalyticsRun", "analytics_meltano", "sandbox_for"]

#: Records per model: enough companies, licenses, deals and line items for every kind of month.
RECORDS = 30


@pytest.fixture(scope="module")
def analytics_sandbox() -> Iterator[SandboxServer]:
    """A seeded sandbox for one module's extract."""
    server = SandboxServer(
        token=SANDBOX_TOKEN, tenant_token=SANDBOX_TENANT_TOKEN, records=RECORDS, seed=0
    ).start()
    yield server
    server.stop()


def sandbox_for(sandbox: SandboxServer) -> dict[str, str]:
    """The `dev` environment's variables for ``sandbox``."""
    return {
        "PLANHAT_SANDBOX_URL": sandbox.url,
        "PLANHAT_SANDBOX_TOKEN": SANDBOX_TOKEN,
        "PLANHAT_SANDBOX_TENANT_TOKEN": SANDBOX_TENANT_TOKEN,
    }


def analytics_meltano(executable: str, sandbox: SandboxServer, directory: Path) -> Meltano:
    """Meltano with its own system database, DuckDB file and dbt target/log directories."""
    env = {
        **os.environ,
        **sandbox_for(sandbox),
        "MELTANO_DATABASE_URI": f"sqlite:///{directory / 'meltano.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TARGET_DUCKDB_PATH": str(directory / "planhat.duckdb"),
        "DBT_DUCKDB_PATH": str(directory / "planhat.duckdb"),
        "DBT_TARGET_PATH": str(directory / "dbt-target"),
        "DBT_LOG_PATH": str(directory / "dbt-logs"),
        "DO_NOT_TRACK": "1",
    }
    return Meltano(executable, env)


@dataclass
class AnalyticsRun:
    """What one `dbt build` (or run) reported: node id -> status."""

    statuses: dict[str, str]

    @classmethod
    def read(cls, meltano: Meltano) -> AnalyticsRun:
        """The run_results.json the last dbt command wrote."""
        path = f"{meltano.env['DBT_TARGET_PATH']}/run_results.json"
        with open(path, encoding="utf-8") as handle:  # noqa: PTH123 - a plain path string
            results = json.load(handle)["results"]
        return cls({r["unique_id"]: r["status"] for r in results})

    def not_passed(self) -> dict[str, str]:
        """Nodes whose status is neither success (models) nor pass (tests)."""
        return {k: v for k, v in self.statuses.items() if v not in {"success", "pass"}}

    def count(self, kind: str) -> int:
        """Nodes of ``kind`` (model, test)."""
        return sum(1 for k in self.statuses if k.startswith(f"{kind}."))


def push_metrics(sandbox: SandboxServer, items: list[dict[str, Any]]) -> None:
    """Push metric values to the sandbox's analytics route, as an integration would."""
    response = requests.post(
        f"{sandbox.url}/dimensiondata/{SANDBOX_TENANT_TOKEN}", json=items, timeout=10
    )
    response.raise_for_status()
    assert response.json()["errors"] == [], response.json()


def delete_record(sandbox: SandboxServer, path: str, record_id: str) -> None:
    """Delete a record through the API, as a Planhat user would."""
    response = requests.delete(
        f"{sandbox.url}/{path}/{record_id}", headers=sandbox.auth_headers(), timeout=10
    )
    response.raise_for_status()


def create_record(sandbox: SandboxServer, path: str, record: dict[str, Any]) -> None:
    """Create a record through the API (a custom field definition, ...)."""
    response = requests.post(
        f"{sandbox.url}/{path}", json=record, headers=sandbox.auth_headers(), timeout=10
    )
    response.raise_for_status()
