"""The run's files: created on first use, closed only if opened, none written in dry runs."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import orjson
import pytest

from planhat_common.errors import SettingsError
from target_planhat.outcomes.files import RunFiles
from target_planhat.settings import TargetSettings

if TYPE_CHECKING:
    from pathlib import Path


def _settings(tmp_path: Path, **extra) -> TargetSettings:
    return TargetSettings.from_config(
        {
            "dead_letter_path": str(tmp_path / "dead.jsonl"),
            "results_path": str(tmp_path / "results.jsonl"),
            "push_ledger_path": str(tmp_path / "push.jsonl"),
            "sync_ledger_path": str(tmp_path / "sync"),
            **extra,
        }
    )


def test_a_run_that_writes_nothing_leaves_no_file(tmp_path: Path) -> None:
    expired = orjson.dumps({"at": time.time() - 100 * 3600, "model": "m", "digests": ["d"]})
    (tmp_path / "push.jsonl").write_bytes(expired + b"\n")
    files = RunFiles(_settings(tmp_path), ["secret"])
    files.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["push.jsonl"]
    # The push ledger was never read, so not rewritten without its expired entry either.
    assert (tmp_path / "push.jsonl").read_bytes() == expired + b"\n"


def test_ledgers_are_read_when_first_needed_and_kept(tmp_path: Path) -> None:
    files = RunFiles(_settings(tmp_path), [])
    assert files.sync_ledger is files.sync_ledger
    assert files.push_ledger is files.push_ledger
    assert files.sync_ledger.enabled
    assert files.push_ledger.path == tmp_path / "push.jsonl"


def test_lines_are_redacted_and_closed_at_the_end(tmp_path: Path) -> None:
    files = RunFiles(_settings(tmp_path), ["secret-token"])
    files.dead_letter.write(stream="s", model="Company", reason="has secret-token", record=None)
    files.close()
    assert "secret-token" not in (tmp_path / "dead.jsonl").read_text()


def test_dry_runs_write_no_results_and_no_ledger(tmp_path: Path) -> None:
    files = RunFiles(_settings(tmp_path, dry_run=True), [])
    assert files.results is None
    assert files.push_ledger.path is None
    assert files.sync_ledger.read_only
    files.sync_ledger.remember([(1, 2)])
    files.close()
    assert list(tmp_path.iterdir()) == []


def test_max_batch_bytes_out_of_range_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="max_batch_bytes must be between 1024 and"):
        TargetSettings.from_config({"max_batch_bytes": 10})
