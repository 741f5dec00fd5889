"""Faults on the analytics host: metrics and user activities are never counted twice.

Pushes add what they carry (docs/planhat-api.md, "Metrics (dimension data)",
"User activities"), so a retry after the push was stored would count it twice. The target
retries a push only after failures proving it was not acted on (429, 503, no connection); after
any other failure the items are dead-lettered as "outcome unknown" and kept in the push ledger,
so neither this run nor a rerun sends them again. The sandbox faults analytics routes when
``only_paths`` names them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from tests.reliability.helpers import (
    MAX_RETRIES,
    STALL_MS,
    run_target,
    target_config,
    timeout_for,
)

if TYPE_CHECKING:
    from planhat_sandbox.server import SandboxServer

PUSH_PATHS = ["/dimensiondata/", "/analytics/"]
METRICS = 3
ACTIVITIES = 2

#: Refusals: the push was not stored, so it is sent again and lands once.
REFUSED = {
    "429-retry-after": {"rate_limit_burst": 2, "rate_limit_mode": "retry_after", "retry_after": 0},
    "429-headers-only": {"rate_limit_burst": 2, "rate_limit_mode": "headers"},
    "429-no-headers": {"rate_limit_burst": 2, "rate_limit_mode": "none"},
    "503": {"status_burst": 2, "status_code": 503},
}
#: Failures after which the push may have been stored: (faults, stored by the sandbox?).
UNSURE: dict[str, tuple[dict[str, Any], bool]] = {
    "500": ({"status_burst": 1, "status_code": 500}, False),
    "502": ({"status_burst": 1, "status_code": 502}, False),
    "504": ({"status_burst": 1, "status_code": 504}, False),
    "reset-before-response": ({"reset": 1, "reset_mode": "before"}, False),
    "reset-mid-response": ({"reset": 1, "reset_mode": "mid"}, True),
    "read-timeout-mid-response": ({"stall": 1, "stall_ms": STALL_MS, "stall_mode": "mid"}, True),
}


def _messages(sandbox: SandboxServer) -> list[dict[str, Any]]:
    companies = sandbox.records("companies")[:METRICS]
    endusers = sandbox.records("endusers")[:ACTIVITIES]

    def schema(stream: str) -> dict[str, Any]:
        return {"type": "SCHEMA", "stream": stream, "schema": {"properties": {}}}

    return [
        schema("metrics"),
        *(
            {
                "type": "RECORD",
                "stream": "metrics",
                "record": {
                    "dimensionId": "push_faults",
                    "value": i + 1,
                    "externalId": c["externalId"],
                    "date": "2024-06-01",
                },
            }
            for i, c in enumerate(companies)
        ),
        schema("activities"),
        *(
            {
                "type": "RECORD",
                "stream": "activities",
                "record": {"email": u["email"], "action": "push-faults", "date": "2024-06-01"},
            }
            for u in endusers
        ),
        {"type": "STATE", "value": {"bookmarks": {"pushes": "done"}}},
    ]


def _pushed(sandbox: SandboxServer) -> tuple[int, int]:
    metrics = [r for r in sandbox.records("dimension_data") if r["dimensionId"] == "push_faults"]
    activities = [a for a in sandbox.activities() if a.get("action") == "push-faults"]
    return len(metrics), len(activities)


def _dead_letters(config: dict[str, Any]) -> list[dict[str, Any]]:
    path = Path(config["dead_letter_path"])
    return [orjson.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


@pytest.mark.parametrize("fault", REFUSED)
def test_a_refused_push_is_sent_again_and_lands_once(
    sandbox: SandboxServer, tmp_path: Path, fault: str
) -> None:
    sandbox.set_faults(**REFUSED[fault], only_paths=PUSH_PATHS)
    config = target_config(sandbox, tmp_path)

    states, error = run_target(config, _messages(sandbox))

    assert error is None, error
    assert states == [{"bookmarks": {"pushes": "done"}}]
    assert _pushed(sandbox) == (METRICS, ACTIVITIES)
    assert _dead_letters(config) == []
    assert sandbox.faults()[next(iter(REFUSED[fault]))] == 0, "the fault never fired"


@pytest.mark.parametrize("fault", UNSURE)
def test_a_push_that_may_have_landed_is_never_sent_twice(
    sandbox: SandboxServer, tmp_path: Path, fault: str
) -> None:
    faults, stored = UNSURE[fault]
    # Only the metrics push fails; the activities push goes through.
    sandbox.set_faults(**faults, only_paths=["/dimensiondata/"])
    config = target_config(sandbox, tmp_path, max_rejected=METRICS, **timeout_for(faults))

    states, error = run_target(config, _messages(sandbox))

    assert error is None, error
    assert states == [{"bookmarks": {"pushes": "done"}}]
    assert _pushed(sandbox) == (METRICS if stored else 0, ACTIVITIES)
    letters = _dead_letters(config)
    assert len(letters) == METRICS
    assert {line["stream"] for line in letters} == {"metrics"}
    assert all(line["reason"].startswith("push outcome unknown") for line in letters)
    pushes = [r for r in sandbox.requests_log() if r["path"].startswith("/dimensiondata/")]
    assert len(pushes) == 1  # never retried

    # The same input again (what Meltano does after a failed run): nothing is pushed twice.
    sandbox.set_faults()
    rerun_config = {**config, "dead_letter_path": str(tmp_path / "rerun_dead_letter.jsonl")}
    _, error = run_target(rerun_config, _messages(sandbox))
    assert error is None, error
    assert _pushed(sandbox) == (METRICS if stored else 0, ACTIVITIES)


def test_an_unsure_push_fails_the_run_under_the_default_max_rejected(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.set_faults(reset=1, reset_mode="mid", only_paths=["/analytics/"])
    config = target_config(sandbox, tmp_path)

    states, error = run_target(config, _messages(sandbox))

    assert states == []
    assert error is not None
    assert f"{ACTIVITIES} record(s) were rejected" in str(error)


def test_refusals_beyond_the_retry_budget_fail_without_state(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    sandbox.set_faults(status_burst=MAX_RETRIES, status_code=503, only_paths=PUSH_PATHS)
    config = target_config(sandbox, tmp_path)

    states, error = run_target(config, _messages(sandbox))

    assert states == []
    assert error is not None
    assert f"Giving up after {MAX_RETRIES} attempts" in str(error)
    assert _pushed(sandbox) == (0, 0)
