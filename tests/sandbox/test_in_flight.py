"""Requests in flight at once, as the sandbox counts them (`GET /_sandbox/requests/summary`).

Every overlap here is forced, never timed: concurrent requests meet at a barrier inside the
server, so all of them are being served at once whatever the machine's load.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
import requests
from sandbox_client import Client

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.sandbox_fixtures import SandboxServer

CLIENTS = 4
TIMEOUT = 30


def summary(server: SandboxServer) -> dict[str, Any]:
    response = requests.get(f"{server.url}/_sandbox/requests/summary", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def clear(server: SandboxServer) -> None:
    requests.delete(f"{server.url}/_sandbox/requests", timeout=TIMEOUT).raise_for_status()


@contextlib.contextmanager
def meeting_inside(server: SandboxServer, parties: int) -> Iterator[None]:
    """Hold every main-API request inside the server until ``parties`` of them are there.

    The rate limiter is asked once per main-API request, outside the store's lock.
    """
    barrier = threading.Barrier(parties, timeout=TIMEOUT)
    limiter = server.app.rate_limiter
    hit = limiter.hit

    def wait_then_hit() -> tuple[bool, dict[str, str]]:
        barrier.wait()
        return hit()

    limiter.hit = wait_then_hit  # type: ignore[method-assign]
    try:
        yield
    finally:
        limiter.hit = hit  # type: ignore[method-assign]


def concurrent_lists(client: Client, count: int) -> list[int]:
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: client.get("/companies").status_code, range(count)))


@pytest.fixture
def slow(sandbox_factory: Callable[..., SandboxServer]) -> SandboxServer:
    """A sandbox answering every main-API request 300 ms late."""
    return sandbox_factory(faults={"latency_ms": 300})


def test_concurrent_requests_are_counted_at_once(slow: SandboxServer) -> None:
    with meeting_inside(slow, CLIENTS):
        assert concurrent_lists(Client(slow), CLIENTS) == [200] * CLIENTS
    seen = summary(slow)
    assert seen["max_in_flight"] == CLIENTS
    assert seen["in_flight"] == 0
    assert seen["requests"] == CLIENTS
    assert seen["statuses"] == {"200": CLIENTS}


def test_sequential_requests_are_one_at_a_time(slow: SandboxServer) -> None:
    client = Client(slow)
    for _ in range(3):
        client.ok("/companies")
    seen = summary(slow)
    assert (seen["max_in_flight"], seen["in_flight"], seen["requests"]) == (1, 0, 3)


def test_clearing_the_log_resets_the_peak(slow: SandboxServer) -> None:
    with meeting_inside(slow, 2):
        concurrent_lists(Client(slow), 2)
    assert summary(slow)["max_in_flight"] == 2
    clear(slow)
    assert summary(slow) == {"requests": 0, "statuses": {}, "in_flight": 0, "max_in_flight": 0}
    Client(slow).ok("/companies")
    assert summary(slow)["max_in_flight"] == 1


def test_admin_routes_are_not_counted(sandbox: SandboxServer) -> None:
    for _ in range(3):
        requests.get(f"{sandbox.url}/_sandbox/faults", timeout=TIMEOUT).raise_for_status()
    assert summary(sandbox)["max_in_flight"] == 0


def test_statuses_and_dropped_connections(sandbox: SandboxServer) -> None:
    client = Client(sandbox)
    client.ok("/companies")
    assert client.get("/nowhere").status_code == 404
    sandbox.set_faults(rate_limit_burst=1)
    assert client.get("/companies").status_code == 429
    sandbox.set_faults(reset=1, reset_mode="before")
    with pytest.raises(requests.ConnectionError):
        client.get("/companies")
    sandbox.set_faults(reset=1, reset_mode="mid")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        client.get("/companies")
    seen = summary(sandbox)
    assert seen["statuses"] == {"200": 1, "404": 1, "429": 1, "reset": 2}
    assert seen["max_in_flight"] == 1


def test_a_stalled_answer_is_in_flight_until_its_last_byte(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    server = sandbox_factory(faults={"stall": 1, "stall_ms": 60_000, "stall_mode": "mid"})
    response = requests.get(
        f"{server.url}/companies",
        headers=Client(server).headers,
        stream=True,
        timeout=TIMEOUT,
    )
    # Headers and half the body are out; the rest waits for the stall.
    assert response.status_code == 200
    assert summary(server)["in_flight"] == 1
    response.close()


def test_unknown_summary_route(sandbox: SandboxServer) -> None:
    response = requests.get(f"{sandbox.url}/_sandbox/requests/other", timeout=TIMEOUT)
    assert response.status_code == 404
