"""Pipelines against a sandbox that answers 429s and 5xxs still finish with complete data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from planhat_common.registry import readable_models

pytestmark = pytest.mark.meltano

DEFAULT_STREAMS = [m.name for m in readable_models() if m.selected_by_default]
FAULTS = {
    "status_burst": 3,  # three 503s...
    "rate_limit_burst": 3,  # ...then three 429s with Retry-After: 1
    "retry_after": 1,
    "only_paths": ["/companies", "/endusers", "/licenses"],
}


def ids_in_jsonl(directory: Path, stream: str) -> list[str]:
    ids = []
    for path in directory.glob(f"{stream}-*.jsonl"):
        ids += [json.loads(line)["_id"] for line in path.read_text().splitlines()]
    return ids


def test_both_directions_complete_through_429s_and_5xxs(meltano: Any, sandbox_factory: Any) -> None:
    # A real budget too: 429s without Retry-After once 40 calls were made in 2 seconds.
    sandbox = sandbox_factory(records=20, rate_limit_per_minute=40, rate_limit_window_seconds=2)
    meltano.use_sandbox(sandbox)
    for plugin in ("TAP_PLANHAT", "TARGET_PLANHAT"):
        meltano.env[f"{plugin}_RETRY_MAX_WAIT_SECONDS"] = "2"

    sandbox.set_faults(**FAULTS)
    meltano("run", "tap-planhat", "target-jsonl")
    out = Path(meltano.env["TARGET_JSONL_DESTINATION_PATH"])
    for stream in DEFAULT_STREAMS:
        landed = ids_in_jsonl(out, stream)
        assert sorted(landed) == sorted(r["_id"] for r in sandbox.records(stream)), stream
    statuses = {r["status"] for r in sandbox.requests_log()}
    assert {429, 503} <= statuses, "the faults should have fired"

    sandbox.clear_log()
    sandbox.set_faults(**{**FAULTS, "status_code": 502})
    result = meltano("run", "tap-spreadsheets", "target-planhat")
    total = meltano.summary(result)["TOTAL"]
    assert (total["created"], total["rejected"]) == (22, 0)
    linked = [u for u in sandbox.records("endusers") if str(u.get("externalId")).startswith("U-")]
    assert len(linked) == 10
    assert all(u.get("companyId") for u in linked)
    statuses = {r["status"] for r in sandbox.requests_log()}
    assert {429, 502} <= statuses, "the faults should have fired on the writes"
