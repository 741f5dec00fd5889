"""How a stream's requests are retried: waits from the shared policy, each attempt gated.

singer-sdk retries through ``backoff`` around its request function (``request_decorator``);
these pieces go into that wrapping so streams keep the same rules as every other call
(``planhat_common/http.py``).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from planhat_common.call_gate import pause
from planhat_common.errors import PlanhatError
from planhat_common.http import (
    TRANSIENT_EXCEPTIONS,
    HostNotFoundError,
    host_not_found_message,
    name_not_resolved,
    redact,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable

    import requests

    from planhat_common.call_gate import CallGate
    from planhat_common.http import RetryPolicy

T = TypeVar("T")


#: The wait the current call owes before its next attempt (seconds), set by
#: :func:`retry_waits` and spent by :func:`gated`. Per context: a retry's wait generator runs
#: in the thread that sends the request (tests/test_sdk_contract.py).
_OWED: ContextVar[float] = ContextVar("planhat_retry_wait_owed", default=0.0)


def retry_waits(policy: RetryPolicy, gate: CallGate) -> Generator[float, Any, None]:
    """``backoff``'s wait generator: the policy's wait (Retry-After, then backoff) per attempt.

    ``backoff`` primes it with ``send(None)``, then sends each exception. It always yields 0:
    the wait is spent before the next attempt, where a read-ahead that is called off
    meanwhile stops waiting, which ``backoff``'s own sleep cannot do. A 429's wait holds the
    whole gate (every caller waits); any other failure's wait is this call's own
    (:func:`owed_wait`, spent by :func:`gated`).

    It ends when the policy gives up before ``max_tries`` (a host name that does not resolve,
    :meth:`RetryPolicy.gives_up`): ``backoff`` then stops retrying and raises the failure
    (tests/tap/test_unresolvable_host.py holds it to that).
    """
    _OWED.set(0.0)
    exc = yield 0.0
    attempt = 0
    while True:
        attempt += 1
        response = getattr(exc, "response", None)
        if response is None and policy.gives_up(attempt, exc):
            return
        status = None if response is None else response.status_code
        _OWED.set(gate.own_wait(status, policy.wait_seconds(attempt, response)))
        exc = yield 0.0


def owed_wait() -> float:
    """Seconds the current call waits before its next attempt (not counting a 429's hold)."""
    return _OWED.get()


def gated(func: Callable[..., T], gate: CallGate) -> Callable[..., T]:
    """``func`` passing ``gate`` on every call: every attempt, retries included.

    A retry first waits what it owes (:func:`retry_waits`), outside the gate so it holds no
    place in flight, and gives up (:class:`~planhat_common.call_gate.Cancelled`) if its
    read-ahead is called off meanwhile.
    """

    def call(*args: Any, **kwargs: Any) -> T:
        owed = _OWED.get()
        if owed:
            _OWED.set(0.0)
            pause(owed)
        with gate.call():
            result = func(*args, **kwargs)
        gate.answered()
        return result

    return call


def named_failures(
    func: Callable[..., requests.Response],
    stream_name: str,
    tries: int,
    secrets: Iterable[str | None],
) -> Callable[..., requests.Response]:
    """``func`` whose final transport failure names the stream, the request and the attempts.

    requests' own message names neither the stream nor the path.
    """

    def named(prepared_request: requests.PreparedRequest, *args: Any) -> requests.Response:
        try:
            return func(prepared_request, *args)
        except TRANSIENT_EXCEPTIONS as exc:
            if name_not_resolved(exc):
                message = host_not_found_message(prepared_request.url or "", secrets)
                raise HostNotFoundError(f"Stream '{stream_name}': {message}") from exc
            raise PlanhatError(
                redact(
                    f"Stream '{stream_name}': giving up after {tries} attempts: "
                    f"{prepared_request.method} {prepared_request.path_url} failed: {exc}",
                    secrets,
                )
            ) from exc

    return named
