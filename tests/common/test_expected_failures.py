"""Expected failures end with one clear error line (the traceback only at DEBUG); SDK notices
that do not apply to this tap stay out of its log."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.sandbox_fixtures import SANDBOX_TOKEN
from tests.tap.helpers import run_tap, tap_config

BIN = Path(sys.executable).parent


def _run(command: str, config: dict[str, Any], tmp_path: Path, stdin: str = "") -> Any:
    path = tmp_path / f"{command}.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [str(BIN / command), "--config", str(path)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "| ERROR" in line or "ERROR " in line[:40]]


def test_a_refused_stream_ends_the_target_with_one_error_line(sandbox: Any, tmp_path: Path) -> None:
    config = {"api_url": sandbox.url, "api_token": SANDBOX_TOKEN, "max_requests_per_minute": 0}
    messages = [
        {"type": "SCHEMA", "stream": "companies", "schema": {"properties": {"name": {}}},
         "key_properties": []},
        {"type": "RECORD", "stream": "companies", "record": {"name": "x"}},
    ]  # fmt: skip
    result = _run("target-planhat", config, tmp_path, "\n".join(map(json.dumps, messages)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    [error] = _errors(result.stderr)
    assert "has no column Company records can be matched by" in error


def test_a_refused_token_ends_the_tap_with_one_error_line(sandbox: Any, tmp_path: Path) -> None:
    config = {**tap_config(sandbox), "api_token": "not-the-token-0123"}
    result = _run("tap-planhat", config, tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "not-the-token-0123" not in result.stderr
    assert any("401" in line for line in _errors(result.stderr))


def test_a_setting_mistake_ends_the_tap_with_one_error_line(tmp_path: Path) -> None:
    """Clear-text http to a remote host is refused before any call, naming the setting."""
    config = {"api_url": "http://planhat.example.com", "api_token": "secret-token-4567"}
    result = _run("tap-planhat", config, tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "secret-token-4567" not in result.stderr
    [error] = _errors(result.stderr)
    assert "api_url must use https" in error


def test_the_tap_leaves_out_sdk_notices_that_do_not_apply(sandbox: Any, caplog: Any) -> None:
    data = sandbox.dump()
    data["collections"]["companies"][0]["updatedAt"] = None  # a record without a timestamp
    sandbox.load(data)
    with caplog.at_level("INFO"):
        output = run_tap(tap_config(sandbox), streams={"companies", "endusers"})
    assert output.records["companies"]
    assert "assumed to be unsorted" not in caplog.text
    assert "New replication value is null" not in caplog.text
