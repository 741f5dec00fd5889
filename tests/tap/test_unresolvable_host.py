"""tap-planhat against a host name that does not resolve: one quick retry, then one clear line.

Real sockets and the real resolver (``.invalid`` never resolves, RFC 6761); the shared rule
is planhat_common/http.py's (tests/common/test_unresolvable_host.py). Here: a stream's
requests, retried by singer-sdk's ``backoff``, stop at the same count, and so does discovery.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from planhat_common.http import NAME_RESOLUTION_TRIES, HostNotFoundError
from tap_planhat.tap import TapPlanhat
from tests.common.test_unresolvable_host import HOST, TOKEN, count_lookups
from tests.tap.helpers import run_tap


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The host names looked up during the test."""
    return count_lookups(monkeypatch)


CONFIG: dict[str, Any] = {
    "api_url": f"https://{HOST}",
    "api_token": TOKEN,
    "max_requests_per_minute": 0,
    "max_retries": 8,
    "retry_max_wait_seconds": 0.01,
}


def test_a_stream_stops_after_one_quick_retry_and_names_the_host(
    lookups: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    config = {**CONFIG, "typed_custom_fields": False}  # no discovery call: a stream's first

    with pytest.raises(HostNotFoundError) as caught:
        run_tap(config, streams={"companies"})

    assert lookups.count(HOST) == NAME_RESOLUTION_TRIES == 2
    message = str(caught.value)
    assert message.startswith(f"Stream 'companies': Cannot reach {HOST}:")
    assert "api_url" in message
    assert TOKEN not in message + caplog.text
    # Not compared whole: log records are redacted process-wide, with other tests' tokens too.
    retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 1
    assert retries[0].startswith("Stream 'companies': retrying in 0.0s after attempt 1: ")
    assert retries[0].endswith(" does not resolve")
    # backoff's own lines would repeat the tap's retry warning and precede its error.
    assert not [r for r in caplog.records if r.getMessage().startswith(("Backing off", "Giving"))]


def test_discovery_stops_after_one_quick_retry(lookups: list[str]) -> None:
    with pytest.raises(HostNotFoundError, match=f"Cannot reach {HOST}"):
        TapPlanhat(config=CONFIG, parse_env_config=False).catalog_dict  # noqa: B018

    assert lookups.count(HOST) == NAME_RESOLUTION_TRIES


def test_the_command_ends_with_one_error_line_naming_the_host(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(CONFIG))
    tap = Path(sys.executable).parent / "tap-planhat"

    result = subprocess.run(
        [str(tap), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1
    assert result.stdout == ""  # failed at discovery: not even a SCHEMA
    last = result.stderr.strip().splitlines()[-1]
    assert f"Cannot reach {HOST}: the host name does not resolve" in last
    assert TOKEN not in result.stderr
    assert "Traceback" not in result.stderr
