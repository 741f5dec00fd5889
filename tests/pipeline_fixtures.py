"""Session fixtures shared by the pipeline tests (tests/meltano, tests/analytics).

Registered once, in tests/conftest.py, so that one session starts one PostgreSQL and checks
the Meltano install once, whichever folders run.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.meltano.postgres import Postgres, start_postgres

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A real PostgreSQL server for the session (pgserver)."""
    server = start_postgres(tmp_path_factory.mktemp("pg"), tmp_path_factory.mktemp("run"))
    yield server
    server.server.cleanup()


@pytest.fixture(scope="session")
def meltano_executable() -> str:
    """Meltano from the test command, with this project's plugins installed."""
    executable = os.environ.get("PLANHAT_MELTANO")
    if not executable:
        pytest.skip("PLANHAT_MELTANO is not set: run through scripts/test.py")
    subprocess.run([executable, "install"], cwd=ROOT, check=True, capture_output=True, timeout=900)
    return executable
