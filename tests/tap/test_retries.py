"""A retry's wait happens where a read-ahead can call it off, not in backoff's sleep.

Real pieces throughout: the sandbox answers 503 over a socket, ``backoff`` retries as
singer-sdk configures it (tests/test_sdk_contract.py pins that), and the tap's own wait
generator, call gate and read-ahead decide what happens next.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import backoff
import requests
from singer_sdk.exceptions import RetriableAPIError

from planhat_common.call_gate import CallGate
from planhat_common.http import RetryPolicy
from planhat_common.paging import ReadAhead
from tap_planhat.retries import gated, owed_wait, retry_waits

if TYPE_CHECKING:
    from collections.abc import Callable

    from planhat_sandbox.server import SandboxServer

#: A retry wait no test could sit out: the first retry of a 503 waits 600-1,200 s.
LONG = RetryPolicy(max_tries=3, base_wait=600.0, max_wait=1200.0)


def _fetch(
    sandbox: SandboxServer, gate: CallGate, policy: RetryPolicy
) -> tuple[Callable[[], requests.Response], list[int], threading.Event, list[float]]:
    """A list call retried as a stream's is: the statuses it got, an event set on a refusal,
    and the waits the retry handler was told about."""
    statuses: list[int] = []
    refused = threading.Event()
    told: list[float] = []

    def send() -> requests.Response:
        response = requests.get(
            f"{sandbox.url}/companies", headers=sandbox.auth_headers(), timeout=30
        )
        statuses.append(response.status_code)
        if response.status_code >= 500:
            refused.set()
            raise RetriableAPIError("refused", response)
        return response

    def handler(details: dict) -> None:
        told.append(details["wait"] or owed_wait())

    retried = backoff.on_exception(
        lambda: retry_waits(policy, gate),
        RetriableAPIError,
        max_tries=policy.max_tries,
        on_backoff=handler,
        jitter=None,
    )(gated(send, gate))
    return retried, statuses, refused, told


def test_a_read_ahead_called_off_while_waiting_to_retry_stops_waiting(
    sandbox: SandboxServer,
) -> None:
    sandbox.set_faults(status_burst=1, status_code=503)
    fetch, statuses, refused, told = _fetch(sandbox, CallGate.from_settings(0, 2), LONG)
    ahead: ReadAhead[str, requests.Response] = ReadAhead("companies", max_depth=2)
    ahead.start("offset=2000", fetch)
    assert refused.wait(30)

    closing = threading.Thread(target=ahead.close)
    closing.start()
    closing.join(60)  # backoff's own sleep would take 600-1,200 s here

    assert not closing.is_alive(), "the read-ahead sat out its retry wait"
    assert statuses == [503]  # and the page nobody needs was not asked for again
    assert 600 <= told[0] <= 1200  # the log still says how long the retry was to wait


def test_a_call_nobody_calls_off_waits_and_retries(sandbox: SandboxServer) -> None:
    sandbox.set_faults(status_burst=2, status_code=503)
    quick = RetryPolicy(max_tries=3, base_wait=0.01, max_wait=0.05)
    fetch, statuses, _, told = _fetch(sandbox, CallGate.from_settings(0, 2), quick)

    assert fetch().status_code == 200
    assert statuses == [503, 503, 200]
    assert len(told) == 2
    assert all(0.01 <= wait <= 0.05 for wait in told)
    assert owed_wait() == 0  # spent: nothing carries over to the next call
