"""How a stream's requests are retried: waits from the shared policy, each attempt gated.

singer-sdk retries through ``backoff`` around its request function (``request_decorator``);
these pieces go into that wrapping so streams keep the same rules as every other call
(``planhat_common/http.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from planhat_common.errors import PlanhatError
from planhat_common.http import TOO_MANY_REQUESTS, TRANSIENT_EXCEPTIONS, redact

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable

    import requests

    from planhat_common.call_gate import CallGate
    from planhat_common.http import RetryPolicy

T = TypeVar("T")


def retry_waits(policy: RetryPolicy, gate: CallGate) -> Generator[float, Any, None]:
    """``backoff``'s wait generator: the policy's wait (Retry-After, then backoff) per attempt.

    ``backoff`` primes it with ``send(None)``, then sends each exception. A 429 waits at the
    gate instead (0 here): every caller holds there, and a read-ahead that is called off
    meanwhile stops waiting, which ``backoff``'s own sleep cannot do.
    """
    exc = yield 0.0
    attempt = 0
    while True:
        attempt += 1
        response = getattr(exc, "response", None)
        wait = policy.wait_seconds(attempt, response)
        if response is not None and response.status_code == TOO_MANY_REQUESTS:
            gate.throttled(wait)
            wait = 0.0
        exc = yield wait


def gated(func: Callable[..., T], gate: CallGate) -> Callable[..., T]:
    """``func`` passing ``gate`` on every call: every attempt, retries included."""

    def call(*args: Any, **kwargs: Any) -> T:
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
            raise PlanhatError(
                redact(
                    f"Stream '{stream_name}': giving up after {tries} attempts: "
                    f"{prepared_request.method} {prepared_request.path_url} failed: {exc}",
                    secrets,
                )
            ) from exc

    return named
