"""The sandbox faults added for the matrix (``after``, ``stall``) and log redaction."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import pytest
import requests

from planhat_common.http import protect_secrets

if TYPE_CHECKING:
    from planhat_sandbox.server import SandboxServer


def _get(sandbox: SandboxServer, timeout: float = 5) -> int:
    url = f"{sandbox.url}/companies"
    return requests.get(url, headers=sandbox.auth_headers(), timeout=timeout).status_code


def test_after_lets_requests_through_before_counted_faults_fire(sandbox: SandboxServer) -> None:
    sandbox.set_faults(status_burst=1, status_code=502, after=2)
    assert [_get(sandbox) for _ in range(4)] == [200, 200, 502, 200]
    assert sandbox.faults()["after"] == 0


def test_after_counts_only_matching_paths(sandbox: SandboxServer) -> None:
    sandbox.set_faults(status_burst=1, after=1, only_paths=["/companies"])
    other = requests.get(f"{sandbox.url}/endusers", headers=sandbox.auth_headers(), timeout=5)
    assert other.status_code == 200
    assert [_get(sandbox), _get(sandbox)] == [200, 503]


def test_stall_mid_response_is_a_read_timeout(sandbox: SandboxServer) -> None:
    sandbox.set_faults(stall=2, stall_ms=400)
    with pytest.raises(requests.exceptions.ConnectionError, match="timed out"):
        _get(sandbox, timeout=0.1)
    started = time.monotonic()
    assert _get(sandbox, timeout=5) == 200  # a patient client just waits
    assert time.monotonic() - started >= 0.35
    assert _get(sandbox, timeout=5) == 200  # the stalls are used up


def test_stall_before_response_delays_the_whole_answer(sandbox: SandboxServer) -> None:
    sandbox.set_faults(stall=1, stall_ms=300, stall_mode="before")
    with pytest.raises(requests.exceptions.Timeout):
        _get(sandbox, timeout=0.1)
    assert _get(sandbox, timeout=5) == 200  # the stall is used up


def test_stall_settings_are_validated(sandbox: SandboxServer) -> None:
    with pytest.raises(ValueError, match="stall_mode"):
        sandbox.set_faults(stall_mode="sideways")
    with pytest.raises(ValueError, match="after"):
        sandbox.set_faults(after=-1)


def test_secrets_are_redacted_from_every_log_record(caplog: pytest.LogCaptureFixture) -> None:
    protect_secrets(["s3cr3t-REDACTME", None])
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("urllib3.connectionpool").debug(
            '%s "POST /dimensiondata/%s HTTP/1.1" 200', "http://h", "s3cr3t-REDACTME"
        )
    assert "REDACTME" not in caplog.text
    assert "POST /dimensiondata/*** HTTP/1.1" in caplog.text
