"""Pytest fixtures for tests that need a running sandbox (``tests/conftest.py`` loads them).

Fixtures:

* ``sandbox``: a fresh, started :class:`SandboxServer` per test (20 records per model, seed 0,
  no rate limit, token :data:`SANDBOX_TOKEN`, tenant token :data:`SANDBOX_TENANT_TOKEN`).
* ``sandbox_factory``: ``sandbox_factory(**kwargs)`` starts a customised server (same defaults,
  overridable with any :class:`SandboxServer` argument); all are stopped at teardown.

:func:`sandbox_on_reserved_port` is for the SDK's test-class factories, which take a config
(with the sandbox's URL) when the module is imported: the server is built then, with its
port known, and started by a fixture when its tests run.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import pytest

from planhat_sandbox.server import SandboxServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = [
    "SANDBOX_RECORDS",
    "SANDBOX_TENANT_TOKEN",
    "SANDBOX_TOKEN",
    "SandboxServer",
    "sandbox",
    "sandbox_factory",
    "sandbox_on_reserved_port",
]

SANDBOX_TOKEN = "test-token"
SANDBOX_TENANT_TOKEN = "test-tenant"
SANDBOX_RECORDS = 20


def _defaults() -> dict[str, Any]:
    return {
        "token": SANDBOX_TOKEN,
        "tenant_token": SANDBOX_TENANT_TOKEN,
        "records": SANDBOX_RECORDS,
        "seed": 0,
        "rate_limit_per_minute": None,
    }


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., SandboxServer]]:
    """Start customised sandboxes; every one is stopped at teardown."""
    started: list[SandboxServer] = []

    def make(**kwargs: Any) -> SandboxServer:
        server = SandboxServer(**{**_defaults(), **kwargs}).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def sandbox(sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    """A fresh running sandbox with the default settings."""
    return sandbox_factory()


def sandbox_on_reserved_port(**kwargs: Any) -> SandboxServer:
    """A sandbox, not yet started, whose URL is already known (a free loopback port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return SandboxServer(**{**_defaults(), "port": port, **kwargs})
