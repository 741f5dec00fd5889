"""Fault matrix for tap-planhat: every sandbox fault mode, full and incremental syncs.

Within the retry budget the output must equal a fault-free run (same ``_id`` sets, same final
state); beyond it the run must fail naming stream/path/status, its STATE may only cover
streams it emitted completely, and a rerun from that STATE completes the job.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.reliability.helpers import (
    FAULTS_WITHIN_BUDGET,
    MAX_RETRIES,
    STALL_MS,
    TAP,
    clean_full_records,
    clean_full_sync,
    ids,
    parse_singer,
    records_by_id,
    run_cli,
    run_tap,
    tap_config,
    timeout_for,
    union,
    write_json,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from planhat_sandbox.server import SandboxServer

#: Every fault the retry budget absorbs, tap and target alike.
WITHIN_BUDGET = FAULTS_WITHIN_BUDGET
#: Where counted faults start: the first call (discovery's /customfields, through the shared
#: client) or a few calls into the sync (a stream's second page, through singer-sdk).
PLACEMENTS = {"at-discovery": 0, "mid-stream": 4}

#: A burst of MAX_RETRIES exhausts the budget; each entry names what the failure must say.
#: Every 429 wait (60 s for headers-only with X-Rate-Limit-Remaining: 0) is capped by the
#: tests' retry_max_wait_seconds, so these stay fast.
GIVING_UP = f"giving up after {MAX_RETRIES} attempts"
BEYOND_BUDGET: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    **{
        str(code): ({"status_burst": MAX_RETRIES, "status_code": code}, (f"returned {code}",))
        for code in (500, 502, 503, 504)
    },
    "429-retry-after": (
        {"rate_limit_burst": MAX_RETRIES, "rate_limit_mode": "retry_after", "retry_after": 0},
        ("returned 429",),
    ),
    "429-rate-limit-headers-only": (
        {"rate_limit_burst": MAX_RETRIES, "rate_limit_mode": "headers"},
        ("returned 429",),
    ),
    "429-no-headers": (
        {"rate_limit_burst": MAX_RETRIES, "rate_limit_mode": "none"},
        ("returned 429",),
    ),
    "reset-before-response": (
        {"reset": MAX_RETRIES, "reset_mode": "before"},
        (GIVING_UP, "failed: ", "Connection aborted"),
    ),
    "reset-mid-response": (
        {"reset": MAX_RETRIES, "reset_mode": "mid"},
        (GIVING_UP, "failed: ", "Connection broken"),
    ),
    "read-timeout-mid-response": (
        {"stall": MAX_RETRIES, "stall_ms": STALL_MS, "stall_mode": "mid"},
        (GIVING_UP, "Read timed out"),
    ),
    "read-timeout-before-response": (
        {"stall": MAX_RETRIES, "stall_ms": STALL_MS, "stall_mode": "before"},
        (GIVING_UP, "Read timed out"),
    ),
    "truncated-json": ({"truncate": MAX_RETRIES}, ("malformed JSON", "returned 200")),
    "error-object-in-200": ({"error_object": MAX_RETRIES}, ("not a JSON array", "returned 200")),
}
COUNTED = ("status_burst", "rate_limit_burst", "reset", "truncate", "error_object", "stall")


def _arm(sandbox: SandboxServer, faults: dict[str, Any], after: int) -> Any:
    return lambda: sandbox.set_faults(**faults, after=after)


@pytest.mark.parametrize("placement", PLACEMENTS)
@pytest.mark.parametrize("fault", WITHIN_BUDGET)
def test_full_sync_under_fault_equals_a_clean_run(
    sandbox: SandboxServer, fault: str, placement: str
) -> None:
    clean_ids, clean_state = clean_full_sync()
    faults = WITHIN_BUDGET[fault]
    output = run_tap(
        tap_config(sandbox, **timeout_for(faults)),
        before_sync=_arm(sandbox, faults, PLACEMENTS[placement]),
    )
    assert ids(output) == clean_ids
    assert records_by_id(output) == clean_full_records()
    for stream, records in output.records.items():
        assert len(records) == len(clean_ids[stream]), f"duplicates in {stream}"
    assert output.final_state == clean_state
    assert not any(sandbox.faults()[k] for k in COUNTED), "the fault never fired"


@pytest.mark.parametrize("fault", WITHIN_BUDGET)
def test_incremental_sync_under_fault_equals_a_clean_run(
    sandbox: SandboxServer, fault: str
) -> None:
    config = tap_config(sandbox, lookback_minutes=0, **timeout_for(WITHIN_BUDGET[fault]))
    _, first_state = clean_full_sync()
    for model in ("companies", "endusers", "invoices", "licenses"):
        first_ids = sorted(r["_id"] for r in sandbox.records(model))
        sandbox.touch(model, first_ids[:2] + first_ids[-1:], {"sourceId": f"touched-{model}"})
    # The sandbox clock may run a few ms ahead of the wall clock (strictly increasing ticks),
    # and the SDK never moves a bookmark past the run's start: let the wall clock catch up.
    time.sleep(0.05)

    clean = run_tap(config, state=first_state)
    faulty = run_tap(config, state=first_state, before_sync=_arm(sandbox, WITHIN_BUDGET[fault], 2))

    assert ids(faulty) == ids(clean)
    assert records_by_id(faulty) == records_by_id(clean)
    assert len(ids(clean)["companies"]) == 3  # only the changed records, plus full-table streams
    assert faulty.final_state == clean.final_state
    assert (
        clean.final_state["bookmarks"]["companies"]["replication_key_value"]
        > first_state["bookmarks"]["companies"]["replication_key_value"]
    )


def test_a_server_cap_below_the_limit_equals_a_clean_run(
    sandbox_factory: Callable[..., SandboxServer],
) -> None:
    # Caps are round numbers (planhat_common/paging.py): 100 against asks of 2,000/5,000.
    longer = {"companies": 250, "endusers": 230, "licenses": 201, "invoices": 199}
    sandbox = sandbox_factory(model_records=longer)
    # One page ahead at a time, so the pages asked for are exactly the sequential ones.
    config = tap_config(sandbox, page_size=None, max_parallel_requests=1)
    clean = run_tap(config)
    sandbox.set_faults(list_cap=100)
    sandbox.clear_log()
    capped = run_tap(config)
    pages = [r for r in sandbox.requests_log() if r["path"] == "/companies"]
    assert [r["query"]["offset"] for r in pages] == ["0", "100", "200"]
    assert records_by_id(capped) == records_by_id(clean)
    assert {s: len(r) for s, r in capped.records.items()} == {
        s: len(r) for s, r in clean.records.items()
    }
    assert capped.final_state == clean.final_state


@pytest.mark.parametrize("fault", BEYOND_BUDGET)
def test_fault_beyond_the_retry_budget_fails_clearly_and_a_rerun_completes(
    sandbox: SandboxServer, tmp_path: Path, fault: str
) -> None:
    faults, expected = BEYOND_BUDGET[fault]
    clean_ids, clean_state = clean_full_sync()
    # One call at a time: a burst of N failures then lands on N attempts of one page (with
    # pages read in parallel it is spread over several, each within the retry budget).
    config = write_json(
        tmp_path / "tap.json",
        tap_config(
            sandbox, typed_custom_fields=False, max_parallel_requests=1, **timeout_for(faults)
        ),
    )
    # Let assets, campaigns and churn complete, then fail companies on its second page.
    sandbox.set_faults(**faults, after=10)

    failed = run_cli([TAP, "--config", config])

    assert failed.returncode != 0
    tail = failed.stderr[-3000:]
    for fragment in expected:
        assert fragment in tail, tail
    assert "Stream 'companies'" in tail, tail  # names the stream ...
    assert "GET /companies?" in tail, tail  # ... and the path
    # Every faulted answer was used up and the call still failed: exactly MAX_RETRIES tries.
    assert not any(sandbox.faults()[k] for k in COUNTED), sandbox.faults()
    partial = parse_singer(failed.stdout)
    assert partial.states, "no STATE at all before the failure"
    last_state = partial.final_state
    emitted = ids(partial)
    for stream, bookmark in last_state["bookmarks"].items():
        if "replication_key_value" in bookmark:
            # A bookmark only for a stream whose records were all emitted.
            assert emitted.get(stream) == clean_ids[stream], stream
    assert emitted.get("companies", set()) != clean_ids["companies"]  # it failed mid-way
    assert "companies" not in last_state.get("bookmarks", {}) or (
        "replication_key_value" not in last_state["bookmarks"]["companies"]
    )

    sandbox.set_faults()
    rerun = run_tap(tap_config(sandbox), state=last_state)

    assert union(partial, rerun) == clean_ids
    assert rerun.final_state == clean_state
