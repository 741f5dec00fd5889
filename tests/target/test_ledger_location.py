"""Where the sync ledger is kept when ``sync_ledger_path`` is not set: never the current directory.

Under Meltano (which sets ``MELTANO_PROJECT_ROOT`` for every plugin it runs) it is in the
project's root, wherever ``meltano`` was started from; outside Meltano, in the user's state
directory. A run started elsewhere therefore still finds what earlier runs wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from target_planhat.outcomes.files import RunFiles
from target_planhat.outcomes.sync_ledger import default_path
from target_planhat.settings import TargetSettings
from tests.target.target_helpers import record, run_target, schema, writes

STRING = {"type": ["string", "null"]}
HOME = {"HOME": "/home/someone"}


def _companies() -> list[dict[str, Any]]:
    rows = [record("companies", {"externalId": f"LOC-{i}", "name": f"Co {i}"}) for i in range(3)]
    return [schema("companies", {"externalId": STRING, "name": STRING}, ["externalId"]), *rows]


def test_under_meltano_the_ledger_is_in_the_project_root(tmp_path: Path) -> None:
    env = {**HOME, "MELTANO_PROJECT_ROOT": str(tmp_path / "project")}
    assert default_path(env) == tmp_path / "project" / ".planhat_sync_ledger"


def test_outside_meltano_the_ledger_is_in_the_users_state_directory(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert (
        default_path({**HOME, "XDG_STATE_HOME": str(state)}) == state / "target-planhat/sync_ledger"
    )
    in_home = Path("/home/someone/.local/state/target-planhat/sync_ledger")
    assert default_path(HOME) == in_home
    # The XDG spec has relative paths ignored: they would depend on the current directory.
    assert default_path({**HOME, "XDG_STATE_HOME": "state"}) == in_home


def test_a_path_that_is_set_is_kept_and_an_empty_one_turns_the_ledger_off(tmp_path: Path) -> None:
    meltano = {**HOME, "MELTANO_PROJECT_ROOT": str(tmp_path)}
    unset = TargetSettings.from_config({}, meltano)
    assert unset.sync_ledger_path == str(tmp_path / ".planhat_sync_ledger")
    given = TargetSettings.from_config({"sync_ledger_path": "ledgers/planhat"}, meltano)
    assert given.sync_ledger_path == "ledgers/planhat"
    off = TargetSettings.from_config({"sync_ledger_path": "", "dead_letter_path": "x"}, meltano)
    assert not RunFiles(off, []).sync_ledger.enabled


def test_a_meltano_run_started_in_another_directory_finds_the_ledger(
    sandbox: Any, config: dict[str, Any], tmp_path: Path, monkeypatch: Any
) -> None:
    project, subdirectory = tmp_path / "project", tmp_path / "project" / "extract"
    subdirectory.mkdir(parents=True)
    del config["sync_ledger_path"]
    monkeypatch.setenv("MELTANO_PROJECT_ROOT", str(project))
    monkeypatch.chdir(project)
    run_target(config, _companies())
    sent = len(writes(sandbox))

    monkeypatch.chdir(subdirectory)  # `meltano run` started from a subdirectory
    run_target(config, _companies())

    assert len(writes(sandbox)) == sent  # every row unchanged: nothing sent again
    assert [p.name for p in project.rglob(".planhat_sync_ledger*")] == [".planhat_sync_ledger"]


def test_outside_meltano_runs_from_two_directories_share_the_ledger(
    sandbox: Any, config: dict[str, Any], tmp_path: Path, monkeypatch: Any
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    del config["sync_ledger_path"]
    monkeypatch.delenv("MELTANO_PROJECT_ROOT", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.chdir(first)
    run_target(config, _companies())
    sent = len(writes(sandbox))

    monkeypatch.chdir(second)
    run_target(config, _companies())

    assert len(writes(sandbox)) == sent
    assert (tmp_path / "state" / "target-planhat" / "sync_ledger").exists()
    assert not list(first.iterdir())
    assert not list(second.iterdir())


def test_the_push_ledger_is_kept_like_the_sync_ledger(tmp_path: Path) -> None:
    meltano = {**HOME, "MELTANO_PROJECT_ROOT": str(tmp_path)}
    assert TargetSettings.from_config({}, meltano).push_ledger_path == str(
        tmp_path / ".planhat_push_ledger.jsonl"
    )
    outside = TargetSettings.from_config({}, {**HOME, "XDG_STATE_HOME": str(tmp_path / "s")})
    assert outside.push_ledger_path == str(tmp_path / "s/target-planhat/push_ledger.jsonl")
    given = TargetSettings.from_config({"push_ledger_path": "p.jsonl"}, meltano)
    assert given.push_ledger_path == "p.jsonl"
    off = TargetSettings.from_config({"push_ledger_path": "", "dead_letter_path": "x"}, meltano)
    assert RunFiles(off, []).push_ledger.path is None
