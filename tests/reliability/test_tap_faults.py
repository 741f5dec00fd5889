"""Fault matrix for tap-planhat: every sandbox fault mode, full and incremental syncs.

Within the retry budget the output must equal a fault-free run (same ``_id`` sets, same final
state); beyond it the run must fail naming stream/path/status, its STATE may only cover
streams it emitted completely, and a rerun from that STATE completes the job.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest

from planhat_common.registry import get_model
from tests.reliability.helpers import (
    DEFAULT_STREAMS,
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
    import subprocess
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
#: First pages of upcoming streams asked for early in the tests that read streams side by side.
READ_AHEAD_STREAMS = 4
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


def _fails_clearly_and_a_rerun_completes(
    sandbox: SandboxServer,
    failed: subprocess.CompletedProcess[str],
    expected: tuple[str, ...],
    stream: str,
    clean: tuple[dict[str, set[str]], dict[str, Any]],
) -> None:
    """The run failed naming ``stream``, its path and ``expected``, after every faulted answer
    was used up; its STATE covers only streams it emitted completely; a rerun from that STATE
    completes the job."""
    clean_ids, clean_state = clean
    assert failed.returncode != 0
    tail = failed.stderr[-3000:]
    for fragment in expected:
        assert fragment in tail, tail
    assert f"Stream '{stream}'" in tail, tail  # names the stream ...
    assert f"GET {get_model(stream).path}?" in tail, tail  # ... and the path (custom_fields:
    # /customfields)
    # Every faulted answer was used up and the call still failed: exactly MAX_RETRIES tries.
    assert not any(sandbox.faults()[k] for k in COUNTED), sandbox.faults()
    partial = parse_singer(failed.stdout)
    emitted = ids(partial)
    completed = [n for n in clean_ids if n != stream and emitted.get(n) == clean_ids[n]]
    # A STATE follows every stream emitted completely; a failure in the first stream (pages
    # read ahead can take the burst's place in line) leaves none, and the rerun starts over.
    if completed:
        assert partial.states, f"no STATE after {completed}"
    last_state = partial.final_state
    for name, bookmark in last_state.get("bookmarks", {}).items():
        if "replication_key_value" in bookmark:
            # A bookmark only for a stream whose records were all emitted.
            assert emitted.get(name) == clean_ids[name], name
    assert emitted.get(stream, set()) != clean_ids[stream]  # it failed before its end
    assert stream not in last_state.get("bookmarks", {}) or (
        "replication_key_value" not in last_state["bookmarks"][stream]
    )

    sandbox.set_faults()
    rerun = run_tap(tap_config(sandbox), state=last_state or None)

    assert union(partial, rerun) == clean_ids
    assert rerun.final_state == clean_state


@pytest.mark.parametrize("fault", BEYOND_BUDGET)
def test_fault_beyond_the_retry_budget_fails_clearly_and_a_rerun_completes(
    sandbox: SandboxServer, tmp_path: Path, fault: str
) -> None:
    faults, expected = BEYOND_BUDGET[fault]
    # One call at a time, and no stream's first page asked for early: a burst of N failures
    # then lands on N attempts of one page. With pages or streams read side by side it is
    # spread over several calls, each within the retry budget (the tests below).
    config = write_json(
        tmp_path / "tap.json",
        tap_config(
            sandbox,
            typed_custom_fields=False,
            max_parallel_requests=1,
            read_ahead_streams=0,
            **timeout_for(faults),
        ),
    )
    # Let assets, campaigns and churn complete, then fail companies on its second page.
    sandbox.set_faults(**faults, after=10)

    failed = run_cli([TAP, "--config", config])

    _fails_clearly_and_a_rerun_completes(sandbox, failed, expected, "companies", clean_full_sync())


#: The stream synced before campaigns (default selection, sync order). Campaigns' first page
#: is asked for as soon as assets starts (streams read ahead), so before assets' last page.
BEFORE_CAMPAIGNS = ("assets",)


@pytest.mark.parametrize("fault", BEYOND_BUDGET)
def test_a_first_page_read_early_beyond_the_retry_budget_fails_clearly_in_its_turn(
    sandbox: SandboxServer, tmp_path: Path, fault: str
) -> None:
    faults, expected = BEYOND_BUDGET[fault]
    config = write_json(
        tmp_path / "tap.json",
        tap_config(
            sandbox,
            typed_custom_fields=False,
            max_parallel_requests=1,
            read_ahead_streams=READ_AHEAD_STREAMS,
            **timeout_for(faults),
        ),
    )
    sandbox.set_faults(**faults, only_paths=["/campaigns"])
    sandbox.clear_log()

    failed = run_cli([TAP, "--config", config])

    # Every faulted attempt was the early first page, first sent while earlier streams were
    # still read ...
    log = [(r["path"], r["query"].get("offset")) for r in sandbox.requests_log()]
    # (a stalled attempt is logged only once the sandbox has answered it, maybe after the run,
    # so the order is checked for the other faults)
    assert 1 <= log.count(("/campaigns", "0")) <= MAX_RETRIES, log
    if not faults.get("stall"):  # a stalled attempt's place in the log is its answer's
        last_before = max(i for i, (path, _) in enumerate(log) if path[1:] in BEFORE_CAMPAIGNS)
        assert log.index(("/campaigns", "0")) < last_before, log
    # ... and its failure surfaces only in campaigns' turn: the stream before it is complete.
    partial = parse_singer(failed.stdout)
    clean_ids, _ = clean_full_sync()
    for stream in BEFORE_CAMPAIGNS:
        assert ids(partial).get(stream) == clean_ids.get(stream), stream
    _fails_clearly_and_a_rerun_completes(sandbox, failed, expected, "campaigns", clean_full_sync())


@pytest.mark.parametrize(
    "fault", ["503", "429-no-headers", "reset-before-response", "truncated-json"]
)
def test_a_burst_beyond_one_calls_budget_spread_over_streams_read_side_by_side(
    sandbox: SandboxServer, tmp_path: Path, fault: str
) -> None:
    """With first pages read early, a burst of MAX_RETRIES faults meant for companies' second
    page may land on several calls (each then within its budget) or on one: the run either
    emits exactly what one without faults emits, or fails as clearly as the test above."""
    faults, expected = BEYOND_BUDGET[fault]
    config = tap_config(
        sandbox,
        typed_custom_fields=False,
        max_parallel_requests=1,
        read_ahead_streams=READ_AHEAD_STREAMS,
        **timeout_for(faults),
    )
    reference = run_cli([TAP, "--config", write_json(tmp_path / "ref.json", config)])
    assert reference.returncode == 0, reference.stderr[-3000:]
    sandbox.set_faults(**faults, after=10)

    run = run_cli([TAP, "--config", write_json(tmp_path / "tap.json", config)])

    assert not any(sandbox.faults()[k] for k in COUNTED), "the fault never fired"
    if run.returncode == 0:
        # Not one answer dropped or repeated: the same records, in order, and every STATE.
        assert "retrying" in run.stderr.lower()
        output, clean = parse_singer(run.stdout), parse_singer(reference.stdout)
        assert output.records == clean.records
        assert output.states == clean.states
    else:
        tail = run.stderr[-3000:]
        failing = max(DEFAULT_STREAMS, key=lambda s: tail.rfind(f"Stream '{s}'"))
        _fails_clearly_and_a_rerun_completes(sandbox, run, expected, failing, clean_full_sync())
