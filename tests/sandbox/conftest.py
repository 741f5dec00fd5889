from __future__ import annotations

import pytest
from sandbox_client import Client

from tests.sandbox_fixtures import SandboxServer, sandbox, sandbox_factory

__all__ = ["client", "sandbox", "sandbox_factory"]


@pytest.fixture
def client(sandbox: SandboxServer) -> Client:
    return Client(sandbox)
