"""A host name that does not resolve ends a call after one quick retry, naming the host.

The shared client's send (the target, the tap's discovery and partitions) over real sockets
and the real resolver: ``.invalid`` never resolves (RFC 6761). Attempts are counted as the
name lookups the process makes, each one an attempt to connect.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
import requests

from planhat_common.client import PlanhatClient
from planhat_common.http import (
    NAME_RESOLUTION_TRIES,
    HostNotFoundError,
    OutcomeUnknownError,
    RetryPolicy,
    name_not_resolved,
)
from planhat_common.settings import PlanhatConnection

HOST = "nonexistent.invalid"
TOKEN = "token-that-never-shows-0123456789"
MAX_RETRIES = 6


def count_lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The host names the process looks up from now on (through the real resolver)."""
    seen: list[str] = []
    resolve = socket.getaddrinfo

    def counting(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(host)
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", counting)
    return seen


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """:func:`count_lookups` for the test."""
    return count_lookups(monkeypatch)


def client(api_url: str) -> PlanhatClient:
    return PlanhatClient(
        PlanhatConnection(
            {
                "api_url": api_url,
                "analytics_url": api_url,
                "api_token": TOKEN,
                "max_requests_per_minute": 0,
                "max_retries": MAX_RETRIES,
                "retry_max_wait_seconds": 0.01,
            }
        )
    )


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_host_that_does_not_resolve_fails_after_one_quick_retry(
    lookups: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    planhat = client(f"https://{HOST}")

    with pytest.raises(HostNotFoundError) as caught:
        list(planhat.list_all("/companies", limit=100))

    assert lookups.count(HOST) == NAME_RESOLUTION_TRIES == 2
    message = str(caught.value)
    assert f"Cannot reach {HOST}" in message
    assert "api_url" in message
    assert TOKEN not in message + caplog.text
    # The one retry says what went wrong in words, not in urllib3's. (Not compared whole:
    # log records are redacted process-wide, with tokens other tests used too.)
    retries = [r.getMessage() for r in caplog.records if "Retrying" in r.getMessage()]
    assert len(retries) == 1
    assert retries[0].startswith("Retrying in 0.0s (attempt 1): GET /companies failed: ")
    assert retries[0].endswith(" does not resolve")
    assert "HTTPSConnectionPool" not in retries[0]


def test_a_push_to_a_host_that_does_not_resolve_fails_alike(lookups: list[str]) -> None:
    # A push is not idempotent, but a lookup that failed never reached anyone.
    planhat = client(f"https://{HOST}")

    with pytest.raises(HostNotFoundError, match=HOST):
        planhat.call("POST", f"https://{HOST}/dimensiondata/x", data=b"[]", idempotent=False)

    assert lookups.count(HOST) == NAME_RESOLUTION_TRIES


def test_other_connection_failures_keep_every_retry(lookups: list[str]) -> None:
    # Refused on a resolvable host: the network or the server may come back.
    planhat = client(f"http://127.0.0.1:{_closed_port()}")

    with pytest.raises(Exception, match=f"Giving up after {MAX_RETRIES} attempts") as caught:
        planhat.call("GET", planhat.api("/companies"))

    assert not isinstance(caught.value, (HostNotFoundError, OutcomeUnknownError))
    assert lookups.count("127.0.0.1") == MAX_RETRIES


def test_the_rule_counts_attempts_of_name_lookups_only() -> None:
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        requests.get(f"https://{HOST}/", timeout=5)
    unresolved = caught.value
    other = requests.exceptions.ConnectionError("connection refused")
    policy = RetryPolicy(max_tries=8)

    assert name_not_resolved(unresolved)
    assert not name_not_resolved(other)
    assert [policy.gives_up(n, unresolved) for n in (1, 2)] == [False, True]
    assert [policy.gives_up(n, other) for n in (2, 7, 8)] == [False, False, True]
    assert RetryPolicy(max_tries=1).gives_up(1, unresolved)
