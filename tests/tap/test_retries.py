"""A retry's wait happens where a read-ahead can call it off.

Real pieces throughout: the sandbox answers 503 over a socket, singer-sdk's verdict on it
(``RetriableAPIError`` with the response, tests/test_sdk_contract.py pins that), and the one
sender, call gate and read-ahead decide what happens next.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import TYPE_CHECKING

import requests
from singer_sdk.exceptions import RetriableAPIError
from typing_extensions import override

from planhat_common.call_gate import CallGate
from planhat_common.http import RetryPolicy
from planhat_common.sender import CallReport, Failure, Sender, as_is
from tap_planhat.paging.read_ahead import ReadAhead

if TYPE_CHECKING:
    from collections.abc import Callable

    from planhat_sandbox.server import SandboxServer

#: A retry wait no test could sit out: the first retry of a 503 waits 600-1,200 s.
LONG = RetryPolicy(max_tries=3, base_wait=600.0, max_wait=1200.0)


class _Told(CallReport):
    """Records the waits each retry line announces."""

    def __init__(self, url: str, told: list[float]) -> None:
        super().__init__("GET", url, ())
        self.told = told

    @override
    def retrying(self, failure: Failure, attempt: int, wait: float) -> None:
        self.told.append(wait)


def _fetch(
    sandbox: SandboxServer, gate: CallGate, policy: RetryPolicy
) -> tuple[Callable[..., requests.Response], list[int], threading.Event, list[float]]:
    """A list call sent as a stream's is: the statuses it got, an event set on a refusal,
    and the waits the retry line was told about."""
    statuses: list[int] = []
    refused = threading.Event()
    told: list[float] = []
    url = f"{sandbox.url}/companies"

    def exchange() -> requests.Response:
        response = requests.get(url, headers=sandbox.auth_headers(), timeout=30)
        statuses.append(response.status_code)
        if response.status_code >= 500:
            refused.set()
            raise RetriableAPIError("refused", response)
        return response

    def fetch(cancel: threading.Event | None = None) -> requests.Response:
        return Sender(gate, policy).send(exchange, as_is, _Told(url, told), cancel=cancel)

    return fetch, statuses, refused, told


def test_a_read_ahead_called_off_while_waiting_to_retry_stops_waiting(
    sandbox: SandboxServer,
) -> None:
    sandbox.set_faults(status_burst=1, status_code=503)
    fetch, statuses, refused, told = _fetch(sandbox, CallGate.from_settings(0, 2), LONG)
    ahead: ReadAhead[str, requests.Response] = ReadAhead("companies", max_depth=2)
    ahead.start("offset=2000", partial(fetch, cancel=ahead.signal))
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
    assert fetch().status_code == 200  # spent: nothing carries over to the next call
    assert (statuses, len(told)) == ([503, 503, 200, 200], 2)
