"""The retry waits of planhat_common.http.RetryPolicy: a pure function of attempt and response.

The sandbox's 429 modes exercise these end to end (tests/reliability); here each branch is
pinned with its numbers, which the fault matrix (tiny waits) cannot show.
"""

from __future__ import annotations

import requests

from planhat_common.http import RetryPolicy


def _response(status: int, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return response


POLICY = RetryPolicy(max_wait=120.0, rate_limit_wait=60.0, rate_limit_base=5.0, base_wait=1.0)


def test_a_429_waits_what_retry_after_asks() -> None:
    assert POLICY.wait_seconds(1, _response(429, **{"Retry-After": "7"})) == 7.0


def test_retry_after_is_capped_by_max_wait() -> None:
    assert POLICY.wait_seconds(1, _response(429, **{"Retry-After": "900"})) == 120.0


def test_a_spent_budget_waits_out_the_window() -> None:
    spent = _response(429, **{"X-Rate-Limit-Limit": "200", "X-Rate-Limit-Remaining": "0"})
    assert POLICY.wait_seconds(1, spent) == 60.0
    assert POLICY.wait_seconds(5, spent) == 60.0


def test_a_refusal_with_budget_left_waits_one_calls_share() -> None:
    burst = _response(429, **{"X-Rate-Limit-Limit": "200", "X-Rate-Limit-Remaining": "12"})
    assert POLICY.wait_seconds(1, burst) == 0.3


def test_a_bare_429_backs_off_exponentially_with_jitter_up_to_the_window() -> None:
    bare = _response(429)
    first = [POLICY.wait_seconds(1, bare) for _ in range(50)]
    third = [POLICY.wait_seconds(3, bare) for _ in range(50)]
    assert all(5.0 <= w <= 10.0 for w in first)
    assert all(20.0 <= w <= 25.0 for w in third)
    assert len(set(first)) > 1  # jittered
    assert POLICY.wait_seconds(8, bare) == 60.0


def test_5xx_and_connection_errors_back_off_from_the_base_wait() -> None:
    assert 1.0 <= POLICY.wait_seconds(1, _response(503)) <= 2.0
    assert 4.0 <= POLICY.wait_seconds(3, None) <= 5.0
    assert POLICY.wait_seconds(12, None) == 120.0
