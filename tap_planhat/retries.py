"""How a stream's requests are retried: waits from the shared policy, each attempt paced.

singer-sdk retries through ``backoff`` around its request function (``request_decorator``);
these pieces go into that wrapping so streams keep the same rules as every other call
(``planhat_common/http.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planhat_common.errors import PlanhatError
from planhat_common.http import TRANSIENT_EXCEPTIONS, redact

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable

    import requests

    from planhat_common.http import RequestBudget, RetryPolicy


def retry_waits(policy: RetryPolicy) -> Generator[float, Any, None]:
    """``backoff``'s wait generator: the policy's wait (Retry-After, then backoff) per attempt.

    ``backoff`` primes it with ``send(None)``, then sends each exception.
    """
    exc = yield 0.0
    attempt = 0
    while True:
        attempt += 1
        exc = yield policy.wait_seconds(attempt, getattr(exc, "response", None))


def paced(func: Callable[..., Any], budget: RequestBudget) -> Callable[..., Any]:
    """``func`` spending from ``budget`` on every call: every attempt, retries included."""

    def spend(*args: Any, **kwargs: Any) -> Any:
        budget.acquire()
        return func(*args, **kwargs)

    return spend


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
