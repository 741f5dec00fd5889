"""planhat-sandbox's command line limits requests like Planhat unless told otherwise."""

from __future__ import annotations

import subprocess
import sys

import requests


def _start(*extra: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "planhat_sandbox.cli", "--port", "0", "--token", "t", *extra],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip().split("=", 1)[1]


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(timeout=10)
    assert proc.stdout is not None
    proc.stdout.close()


def test_the_cli_applies_planhats_200_a_minute_by_default() -> None:
    proc, url = _start("--records", "1")
    try:
        assert requests.get(f"{url}/_sandbox/rate_limit", timeout=10).json()["per_minute"] == 200
        reply = requests.get(f"{url}/companies", headers={"Authorization": "Bearer t"}, timeout=10)
        assert reply.headers["X-Rate-Limit-Limit"] == "200"
        assert reply.headers["X-Rate-Limit-Remaining"] == "199"
    finally:
        _stop(proc)


def test_rate_limit_zero_turns_it_off() -> None:
    proc, url = _start("--records", "1", "--rate-limit", "0")
    try:
        assert requests.get(f"{url}/_sandbox/rate_limit", timeout=10).json()["per_minute"] is None
    finally:
        _stop(proc)
