"""`target-planhat --test`: token, region and tenant token checked, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox_fixtures import SANDBOX_TENANT_TOKEN, SANDBOX_TOKEN

TARGET = str(Path(sys.executable).with_name("target-planhat"))


def _check(sandbox: Any, tmp_path: Path, **config: Any) -> subprocess.CompletedProcess[str]:
    settings = {
        "api_url": sandbox.url,
        "analytics_url": sandbox.url,
        "max_requests_per_minute": 0,
        "max_retries": 1,
        **config,
    }
    path = tmp_path / "target.json"
    path.write_text(json.dumps(settings))
    return subprocess.run(
        [TARGET, "--config", str(path), "--test"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("config", "exit_code", "says"),
    [
        (
            {"api_token": SANDBOX_TOKEN, "tenant_token": SANDBOX_TENANT_TOKEN},
            0,
            ["OK API token", "OK tenant token"],
        ),
        ({"api_token": SANDBOX_TOKEN}, 0, ["OK API token", "tenant token: not set"]),
        ({"api_token": "not-the-token-123"}, 1, ["FAILED API token", "another region"]),
        (
            {"api_token": SANDBOX_TOKEN, "tenant_token": "not-the-tenant-456"},
            1,
            ["OK API token", "FAILED tenant token"],
        ),
    ],
    ids=["both", "api-only", "bad-token", "bad-tenant"],
)
def test_test_checks_the_connection_and_writes_nothing(
    sandbox: Any, tmp_path: Path, config: dict[str, Any], exit_code: int, says: list[str]
) -> None:
    result = _check(sandbox, tmp_path, **config)
    assert result.returncode == exit_code, result.stderr[-2000:]
    for text in says:
        assert text in result.stderr
    assert "Traceback" not in result.stderr
    for secret in (config.get("api_token"), config.get("tenant_token")):
        assert not secret or secret not in result.stderr
    writes = [r for r in sandbox.requests_log() if r["method"] != "GET"]
    assert all(r["path"].startswith("/analytics/bulk/") for r in writes)
    assert sandbox.activities() == []
