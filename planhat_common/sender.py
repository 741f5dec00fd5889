"""The one sender of every Planhat call: it alone decides when to wait, retry, give up or stop.

Every call goes through :meth:`Sender.send`: the tap's streams (through singer-sdk's public
``request_decorator`` hook, ``tap_planhat/http_stream.py``), the tap's discovery and
partitions, and every call of the target (through :class:`~planhat_common.client.PlanhatClient`,
which uses :func:`send`). The rules are docs/planhat-api.md's, "Rate limits and retries":

* each attempt passes the process's :class:`~planhat_common.call_gate.CallGate`;
* a 429, 5xx, reset, timeout or unreadable body is retried after the
  :class:`~planhat_common.http.RetryPolicy`'s wait, up to its ``max_tries``
  (a host name that does not resolve: fewer);
* a 429's wait holds every caller at the gate rather than this one alone (:func:`own_wait`);
* a call that is not idempotent is retried only after failures proving it was not acted on;
* a call handed a cancel signal stops (:class:`~planhat_common.call_gate.Cancelled`) as soon
  as the signal is set, while it waits for the gate or for its next attempt.

What a caller *says* about a failure (its retry line, the error it ends with) is its
:class:`CallReport`; when and whether is decided here only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from singer_sdk.exceptions import RetriableAPIError

from planhat_common.call_gate import pause
from planhat_common.errors import PlanhatError
from planhat_common.http import (
    REFUSED_STATUSES,
    RETRIABLE_STATUSES,
    TOO_MANY_REQUESTS,
    TRANSIENT_EXCEPTIONS,
    HostNotFoundError,
    OutcomeUnknownError,
    PlanhatAuthError,
    TransientResponseError,
    auth_error_message,
    describe_response,
    failure_text,
    host_not_found_message,
    name_not_resolved,
    never_connected,
    redact,
)

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Collection, Iterable

    import requests

    from planhat_common.call_gate import CallGate
    from planhat_common.http import RetryPolicy

T = TypeVar("T")

LOGGER = logging.getLogger("planhat")

#: Failures that came with a response worth retrying: ours (a status or a body that is not
#: what the call promises) and singer-sdk's ``validate_response`` verdict on a 429 or 5xx,
#: which keeps the response (tests/test_sdk_contract.py).
RESPONSE_FAILURES: tuple[type[Exception], ...] = (TransientResponseError, RetriableAPIError)
RETRIED = TRANSIENT_EXCEPTIONS + RESPONSE_FAILURES


@dataclass(frozen=True)
class Failure:
    """An attempt that failed in a way worth retrying: its exception, its response if any."""

    error: BaseException
    response: requests.Response | None

    @classmethod
    def of(cls, error: BaseException) -> Failure:
        """The failure ``error`` (one of :data:`RETRIED`) stands for."""
        response = (
            getattr(error, "response", None) if isinstance(error, RESPONSE_FAILURES) else None
        )
        return cls(error, response)

    @property
    def status(self) -> int | None:
        """The response's status; None when no response came."""
        return None if self.response is None else self.response.status_code

    @property
    def refused(self) -> bool:
        """Whether the request provably was not acted on: never sent, or refused unread."""
        if self.response is None:
            return isinstance(self.error, TRANSIENT_EXCEPTIONS) and never_connected(self.error)
        return self.response.status_code in REFUSED_STATUSES


class CallReport:
    """What one call says about its failures: a retry line, the error it ends with.

    This wording is the shared client's; the tap's streams name themselves
    (``tap_planhat/retries.py``).
    """

    def __init__(
        self,
        method: str,
        url: str,
        secrets: Iterable[str | None],
        logger: logging.Logger = LOGGER,
    ) -> None:
        """A report on ``method url``, with ``secrets`` redacted."""
        self.method = method
        self.url = url
        self.secrets = tuple(secrets)
        self.logger = logger

    def problem(self, failure: Failure) -> str:
        """One redacted line saying what went wrong."""
        if isinstance(failure.error, TRANSIENT_EXCEPTIONS):
            path = urlsplit(self.url).path
            text = f"{self.method} {path} failed: {failure_text(failure.error, self.url)}"
            return redact(text, self.secrets)
        return redact(str(failure.error), self.secrets)

    def retrying(self, failure: Failure, attempt: int, wait: float) -> None:
        """Say that attempt ``attempt`` failed and the next comes in ``wait`` seconds."""
        self.logger.warning(
            "Retrying in %.1fs (attempt %d): %s", wait, attempt, self.problem(failure)
        )

    def gave_up(self, failure: Failure, attempts: int) -> BaseException:
        """The error the call ends with after ``attempts`` attempts, the last one ``failure``."""
        if failure.response is None and name_not_resolved(failure.error):
            return HostNotFoundError(host_not_found_message(self.url, self.secrets))
        return PlanhatError(f"Giving up after {attempts} attempts: {self.problem(failure)}")

    def outcome_unknown(self, failure: Failure) -> BaseException:
        """The error of a call not to repeat after ``failure``, which may have been applied."""
        return OutcomeUnknownError(self.problem(failure))


def own_wait(gate: CallGate, status: int | None, wait: float) -> float:
    """After an attempt that failed with ``status``: of its ``wait``, what its caller owes.

    A 429 says the tenant's budget is spent for every caller: all hold for ``wait`` (this one
    too, at the gate) and fewer calls go at once, so nothing is left to wait alone. Any other
    failure's wait is the caller's own.
    """
    if status != TOO_MANY_REQUESTS:
        return wait
    gate.throttled(wait)
    return 0.0


def as_is(response: requests.Response) -> requests.Response:
    """A response read as it is (for an exchange that validates it itself)."""
    return response


class Sender:
    """Sends calls through one gate under one retry policy."""

    def __init__(self, gate: CallGate, policy: RetryPolicy) -> None:
        """Gate every attempt through ``gate``; wait and give up as ``policy`` says."""
        self.gate = gate
        self.policy = policy

    def send(
        self,
        exchange: Callable[[], requests.Response],
        read: Callable[[requests.Response], T],
        report: CallReport,
        *,
        rate_limited: bool = True,
        idempotent: bool = True,
        cancel: threading.Event | None = None,
    ) -> T:
        """Attempt ``exchange`` until ``read`` accepts what it got; return what ``read`` made.

        ``exchange`` makes one attempt, in the gate unless ``rate_limited`` is off, and may
        itself raise a failure of :data:`RETRIED` (singer-sdk validates inside its request
        function). ``read`` sees the response outside the gate and raises
        :class:`~planhat_common.http.TransientResponseError` for one worth retrying. Any other
        exception ends the call as it is; so does
        :class:`~planhat_common.call_gate.Cancelled` once ``cancel`` is set.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(exchange, read, rate_limited=rate_limited, cancel=cancel)
            except RETRIED as exc:
                failure = Failure.of(exc)
            # Raised outside the except block: a transport error's text may hold a URL with
            # the tenant token, and a chained traceback would print it unredacted.
            if not idempotent and not failure.refused:
                raise report.outcome_unknown(failure)
            if self.policy.gives_up(attempt, failure.error if failure.response is None else None):
                raise report.gave_up(failure, attempt)
            wait = self.policy.wait_seconds(attempt, failure.response)
            report.retrying(failure, attempt, wait)
            if rate_limited:
                wait = own_wait(self.gate, failure.status, wait)
            pause(wait, cancel)

    def _attempt(
        self,
        exchange: Callable[[], requests.Response],
        read: Callable[[requests.Response], T],
        *,
        rate_limited: bool,
        cancel: threading.Event | None,
    ) -> T:
        if not rate_limited:
            return read(exchange())
        with self.gate.call(cancel):
            response = exchange()
        if response.status_code != TOO_MANY_REQUESTS:
            self.gate.answered()
        return read(response)


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    gate: CallGate,
    policy: RetryPolicy,
    secrets: Iterable[str | None],
    timeout: float,
    data: bytes | None = None,
    params: dict[str, Any] | None = None,
    rate_limited: bool = True,
    decode: Callable[[requests.Response], T],
    fatal_statuses: Collection[int] = (401, 403),
    credential: str = "api_token",
    idempotent: bool = True,
    cancel: threading.Event | None = None,
) -> T:
    """Send one plain HTTP call through :class:`Sender`; return ``decode(response)``.

    ``decode`` sees every non-retriable response and may raise
    :class:`~planhat_common.http.TransientResponseError` for a body that is not what the call
    promises (truncated JSON, an error object in a 200), which is retried like a 5xx. Callers
    decide what a 4xx means for them, except ``fatal_statuses`` (401 and 403 unless a caller
    reads 403 bodies, as bulk upserts' ``permissionErrors``), which raise
    :class:`~planhat_common.http.PlanhatAuthError` naming ``credential``. Retrying writes is
    safe because bulk upserts are idempotent on keys.

    A call that is not ``idempotent`` (an analytics push adds what it sends) is retried only
    after failures that prove it was not acted on: a connection that was never made, or a
    status in :data:`~planhat_common.http.REFUSED_STATUSES`. Any other failure raises
    :class:`~planhat_common.http.OutcomeUnknownError`.
    """
    secrets = tuple(secrets)

    def exchange() -> requests.Response:
        return session.request(method, url, data=data, params=params, timeout=timeout)

    def read(response: requests.Response) -> T:
        if response.status_code in fatal_statuses:
            raise PlanhatAuthError(auth_error_message(response, secrets, credential))
        if response.status_code in RETRIABLE_STATUSES:
            raise TransientResponseError(describe_response(response, secrets), response)
        return decode(response)

    return Sender(gate, policy).send(
        exchange,
        read,
        CallReport(method, url, secrets),
        rate_limited=rate_limited,
        idempotent=idempotent,
        cancel=cancel,
    )
