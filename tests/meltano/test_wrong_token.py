"""A wrong token under Meltano: one readable error, no leaked files, no JSON in Meltano's error."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.meltano

PIPELINE = ("run", "tap-planhat", "target-jsonl")


def test_wrong_token_fails_with_one_readable_error(meltano: Any) -> None:
    # A first good run leaves state, so the failing run gets `--state` (the file that leaked).
    meltano("run", "tap-planhat", "target-jsonl")
    meltano.env["PLANHAT_SANDBOX_TOKEN"] = "not-the-token"
    result = meltano(*PIPELINE, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "--state" in output  # the case that leaked the state file
    assert "Planhat refused the API token" in output
    assert "ResourceWarning" not in output
    assert "Traceback" not in output
    # Meltano repeats discovery's stderr in its own error: that copy is plain text, not JSON.
    discovery_error = next(
        line for line in output.splitlines() if "Catalog discovery failed" in line
    )
    after = output[output.index(discovery_error) + len(discovery_error) :]
    assert '{"level"' not in after
    assert "not-the-token" not in output
