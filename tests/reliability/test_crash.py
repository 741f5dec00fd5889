"""Crash safety: SIGKILL the tap or the target mid-run, rerun, and compare with a clean run.

* Tap: rerunning from the last STATE it emitted re-reads what was not acknowledged; the union
  of both outputs is the clean output and the final state is the clean final state.
* Target: it emits STATE only after every record before it was written, so a killed load is
  rerun from the same input. Bulk upserts are keyed, hence idempotent: every bulk model ends
  identical to a clean load. Metrics and user activities are appends: the push ledger
  (target_planhat/outcomes/push_ledger.py) keeps a rerun from sending again what the killed run had
  already pushed.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Any

import orjson

from tests.reliability.helpers import (
    MIXED_LOAD_SETTINGS,
    TAP,
    TARGET,
    clean_full_sync,
    diff,
    mixed_load,
    parse_singer,
    run_tap,
    run_target,
    singer_lines,
    snapshot,
    tap_config,
    target_config,
    union,
    write_json,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from planhat_sandbox.server import SandboxServer

PUSHED = ("dimension_data",)


def _kill_tap_mid_stream(config_path: str, stream: str) -> str:
    """Run the tap until it emits a record of ``stream``, SIGKILL it, return what it wrote."""
    process = subprocess.Popen(
        [TAP, "--config", config_path],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if f'"stream":"{stream}"' in line.replace(" ", "") and '"RECORD"' in line:
                process.send_signal(signal.SIGKILL)
                break
        # Read on through the same file object: communicate() would skip what its
        # read-ahead buffer already holds.
        rest = process.stdout.read()
        process.stdout.close()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL, "the tap finished before it was killed"
    text = "".join(lines) + rest
    # A line cut by the kill is not a message anyone downstream would have read.
    return "".join(line for line in text.splitlines(keepends=True) if line.endswith("\n"))


def test_tap_killed_mid_stream_then_rerun_from_its_last_state(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    clean_ids, clean_state = clean_full_sync()
    sandbox.set_faults(latency_ms=10)  # slow enough to be mid-stream when killed
    config = write_json(tmp_path / "tap.json", tap_config(sandbox, page_size=5))

    killed = parse_singer(_kill_tap_mid_stream(config, "endusers"))

    assert killed.states
    emitted = {s: len(r) for s, r in killed.records.items() if r}
    assert "endusers" in emitted
    assert len(killed.records["endusers"]) < len(clean_ids["endusers"])
    last_state = killed.final_state
    assert "replication_key_value" in last_state["bookmarks"]["companies"]  # completed before
    assert "replication_key_value" not in last_state["bookmarks"].get("endusers", {})

    sandbox.set_faults()
    rerun = run_tap(tap_config(sandbox), state=last_state)

    assert union(killed, rerun) == clean_ids
    assert rerun.final_state == clean_state


def _kill_target_after_writes(
    config_path: str, messages: list[dict[str, Any]], sandbox: SandboxServer, puts: int
) -> None:
    process = subprocess.Popen(
        [TARGET, "--config", config_path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdin is not None
        process.stdin.write(singer_lines(messages))
        process.stdin.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            written = [r for r in sandbox.requests_log() if r["method"] == "PUT"]
            if len(written) >= puts:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.01)
        process.wait(timeout=30)
        assert process.stdout is not None
        stdout = process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert process.returncode == -signal.SIGKILL, "the target finished before it was killed"
    assert stdout == ""  # no STATE: nothing was acknowledged


def _load_killed_then_rerun(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    settings = {**MIXED_LOAD_SETTINGS, "batch_size_rows": 3}  # pushes go out when full
    clean_sandbox = sandbox_factory()
    _, error = run_target(
        target_config(clean_sandbox, tmp_path / "clean", **settings),
        mixed_load(clean_sandbox, push_first=True),
    )
    assert error is None, error
    sandbox = sandbox_factory()
    config = target_config(sandbox, tmp_path, **settings)
    messages = mixed_load(sandbox, push_first=True)
    sandbox.set_faults(latency_ms=150)  # main API only: the pushes are quick
    _kill_target_after_writes(write_json(tmp_path / "t.json", config), messages, sandbox, puts=2)
    assert sandbox.activities(), "the killed run pushed nothing"
    time.sleep(0.2)  # a request in flight at the kill may still land

    sandbox.set_faults()
    states, error = run_target(config, messages)
    assert error is None, error
    assert len(states) == 1
    return snapshot(clean_sandbox, by_key=True), snapshot(sandbox, by_key=True)


def test_target_killed_mid_load_then_rerun_leaves_bulk_models_as_a_clean_load(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    clean, after = _load_killed_then_rerun(sandbox_factory, tmp_path)

    for name in clean["collections"]:
        if name not in PUSHED:
            assert after["collections"][name] == clean["collections"][name], name
    # Pushed items arrive at least once.
    for name in PUSHED:
        key = ("dimensionId", "parentId", "time", "value")
        seen = collections.Counter(tuple(r[k] for k in key) for r in after["collections"][name])
        assert all(seen[tuple(r[k] for k in key)] for r in clean["collections"][name])
    seen = collections.Counter(orjson.dumps(a) for a in after["activities"])
    assert all(seen[orjson.dumps(a)] for a in clean["activities"])


def test_target_rerun_after_a_crash_does_not_push_metrics_or_activities_twice(
    sandbox_factory: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    clean, after = _load_killed_then_rerun(sandbox_factory, tmp_path)
    clean["ids"] = after["ids"]  # ids drawn may differ; the records may not
    assert diff(clean, after) == []
