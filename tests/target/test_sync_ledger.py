"""Only changed rows are sent: the sync ledger, on disk and against the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from target_planhat.outcomes.sync_ledger import SyncLedger, identity_digest, payload_digest
from tests.target.target_helpers import (
    by_field,
    dead_letters,
    record,
    run_target,
    schema,
    summary_rows,
    writes,
)

STRING = {"type": ["string", "null"]}
PROPS = {"externalId": STRING, "name": STRING, "mrr": {"type": ["number", "null"]}}


def _companies(n: int, changed: dict[int, str] | None = None) -> list[dict[str, Any]]:
    changed = changed or {}
    rows = [
        record("companies", {"externalId": f"LED-{i}", "name": changed.get(i, f"Co {i}"), "mrr": i})
        for i in range(n)
    ]
    return [schema("companies", PROPS, keys=["externalId"]), *rows]


def _bulk_puts(sandbox: Any) -> list[dict[str, Any]]:
    return [w for w in writes(sandbox) if w["method"] == "PUT" and w["path"] == "/companies"]


def test_an_identical_rerun_sends_nothing_and_three_changes_one_small_call(
    sandbox: Any, config: dict[str, Any], caplog: Any
) -> None:
    config["batch_size_rows"] = 500
    run_target(config, _companies(1200))
    assert len(_bulk_puts(sandbox)) == 3
    sandbox.clear_log()

    with caplog.at_level("INFO"):
        run_target(config, _companies(1200))
    assert _bulk_puts(sandbox) == []
    row = summary_rows(caplog)["companies"]
    assert (row["unchanged"], row["calls"]) == ("1200", "0")

    run_target(config, _companies(1200, {5: "Five", 700: "Seven hundred", 1199: "Last"}))
    [call] = _bulk_puts(sandbox)
    assert call["status"] == 200
    stored = by_field(sandbox, "companies", "externalId")
    assert stored["LED-700"]["name"] == "Seven hundred"
    assert stored["LED-1199"]["name"] == "Last"


def test_skip_unchanged_off_sends_everything_again(sandbox: Any, config: dict[str, Any]) -> None:
    run_target(config, _companies(10))
    sandbox.clear_log()
    run_target({**config, "skip_unchanged": False}, _companies(10))
    assert len(_bulk_puts(sandbox)) == 1


def test_only_records_planhat_took_are_remembered(sandbox: Any, config: dict[str, Any]) -> None:
    config["max_rejected"] = 10
    messages = [
        schema("endusers", {"email": STRING, "companyExternalId": STRING}, keys=["email"]),
        record("endusers", {"email": "fine@example.com", "companyExternalId": "COMPANY-000001"}),
        record("endusers", {"email": "orphan@example.com", "companyExternalId": "NO-SUCH"}),
    ]
    run_target(config, messages)
    assert len(dead_letters(config)) == 1
    sandbox.clear_log()
    run_target(config, messages)
    # The rejected record is sent (and rejected) again; the accepted one is not.
    [call] = [w for w in writes(sandbox) if w["path"] == "/endusers"]
    assert call["status"] in {206, 400}
    assert len(dead_letters(config)) == 2


def test_dry_runs_read_the_ledger_and_never_write_it(config: dict[str, Any]) -> None:
    ledger = Path(config["sync_ledger_path"])
    run_target({**config, "dry_run": True}, _companies(5))
    assert not ledger.exists()
    run_target(config, _companies(5))
    size = ledger.stat().st_size
    run_target({**config, "dry_run": True}, _companies(5, {1: "changed"}))
    assert ledger.stat().st_size == size


def test_a_line_cut_short_by_a_crash_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "ledger"
    ledger = SyncLedger(path)
    ledger.remember([(1, 10, "id-1"), (2, 20, None)])
    with path.open("ab") as handle:
        handle.write(b"0000000000000003 000000000000001e 64a1f0")  # a crash mid-line
    again = SyncLedger(path)
    assert len(again) == 2
    assert again.unchanged(1, 10)
    assert again.planhat_id(1) == "id-1"
    assert not again.unchanged(2, 21)
    assert not again.unchanged(3, 30)
    assert again.planhat_id(3) is None

    # The next run appends after the cut line: the two run together, and both are dropped.
    again.remember([(4, 40, "id-4")])
    third = SyncLedger(path)
    assert not third.unchanged(3, 30)
    assert not third.unchanged(4, 40)
    assert third.unchanged(1, 10)


def test_ledgers_written_without_ids_are_read_and_ids_are_added(tmp_path: Path) -> None:
    path = tmp_path / "ledger"
    # As target-planhat wrote it before it kept ids: "<identity> <payload>" in hex.
    path.write_bytes(b"0000000000000001 000000000000000a\n0000000000000002 0000000000000014\n")
    ledger = SyncLedger(path)
    assert ledger.unchanged(1, 10)
    assert ledger.unchanged(2, 20)
    assert ledger.planhat_id(1) is None

    ledger.remember([(1, 10, "64a1f0c2e4b0a1b2c3d4e5f6"), (2, 20, None)])
    again = SyncLedger(path)
    assert again.planhat_id(1) == "64a1f0c2e4b0a1b2c3d4e5f6"
    assert again.unchanged(1, 10)
    # Written again without an id (the answer did not say it): the id is kept.
    again.remember([(1, 11, None)])
    assert SyncLedger(path).planhat_id(1) == "64a1f0c2e4b0a1b2c3d4e5f6"
    assert SyncLedger(path).unchanged(1, 11)


def test_an_id_that_could_break_a_line_is_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "ledger"
    SyncLedger(path).remember([(1, 10, "an id\nwith a newline"), (2, 20, "x" * 65)])
    ledger = SyncLedger(path)
    assert (ledger.unchanged(1, 10), ledger.unchanged(2, 20)) == (True, True)
    assert (ledger.planhat_id(1), ledger.planhat_id(2)) == (None, None)


def test_the_file_is_compacted_to_one_line_per_key(tmp_path: Path) -> None:
    path = tmp_path / "ledger"
    ledger = SyncLedger(path)
    for round_ in range(8):
        ledger.remember((key, round_, f"id{key}" if key % 2 else None) for key in range(3000))
    ledger.close()
    lines = path.read_bytes().splitlines()
    assert len(lines) == 3000
    compacted = SyncLedger(path)
    assert compacted.unchanged(2999, 7)
    assert compacted.planhat_id(2999) == "id2999"
    assert compacted.planhat_id(2998) is None


def test_identity_depends_on_tenant_stream_and_key() -> None:
    base = identity_digest("https://api.planhat.com", "companies", ("externalId", "A"))
    assert base != identity_digest("https://api-eu.planhat.com", "companies", ("externalId", "A"))
    assert base != identity_digest("https://api.planhat.com", "accounts", ("externalId", "A"))
    assert base != identity_digest("https://api.planhat.com", "companies", ("externalId", "B"))
    assert payload_digest({"a": 1, "b": 2}) == payload_digest({"b": 2, "a": 1})
