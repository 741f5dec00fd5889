"""Fixtures for target tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.target.target_helpers import sandbox_config

if TYPE_CHECKING:
    from pathlib import Path

    from planhat_sandbox.server import SandboxServer


@pytest.fixture
def config(sandbox: SandboxServer, tmp_path: Path) -> dict[str, Any]:
    """Target config pointing at the test's sandbox."""
    return sandbox_config(sandbox, tmp_path)
