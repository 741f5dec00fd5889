"""Pushes are appends: the push ledger keeps a rerun from sending them twice."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from target_planhat.outcomes.push_ledger import PushLedger, digest
from tests.target.target_helpers import dead_letters, record, run_target, sandbox_config, schema

if TYPE_CHECKING:
    from pathlib import Path


def load(sandbox: Any, date: str | None = "2024-05-01") -> list[dict[str, Any]]:
    company = sandbox.records("companies")[0]
    dated = {"date": date} if date else {}
    return [
        schema("metrics", {"value": {"type": "number"}}),
        record(
            "metrics",
            {"dimensionId": "logins", "value": 3, "externalId": company["externalId"], **dated},
        ),
        # Rejected by Planhat: never remembered, so a rerun tries it again.
        record("metrics", {"dimensionId": "logins", "value": 1, "externalId": "NO-SUCH", **dated}),
        schema("activities", {"email": {"type": "string"}}),
        record("activities", {"email": "a@example.com", "action": "login", **dated}),
        record("activities", {"email": "a@example.com", "action": "login", **dated}),
    ]


def pushes(sandbox: Any) -> list[str]:
    return [r["path"].split("/")[1] for r in sandbox.requests_log() if r["method"] == "POST"]


def test_a_rerun_pushes_only_what_was_not_acknowledged(sandbox: Any, tmp_path: Path) -> None:
    config = sandbox_config(sandbox, tmp_path, max_rejected=10)
    before = len(sandbox.records("dimension_data"))
    run_target(config, load(sandbox))
    # Identical items within one run are all sent: only earlier runs' pushes count.
    assert len(sandbox.activities()) == 2
    assert len(sandbox.records("dimension_data")) == before + 1
    sandbox.clear_log()

    run_target(config, load(sandbox))

    assert len(sandbox.activities()) == 2
    assert len(sandbox.records("dimension_data")) == before + 1
    assert pushes(sandbox) == ["dimensiondata"]  # only the rejected item, again
    assert sum("NO-SUCH" in line["reason"] for line in dead_letters(config)) == 2


def test_items_without_a_date_are_new_events_and_always_pushed(
    sandbox: Any, tmp_path: Path
) -> None:
    # Planhat dates such an item when it arrives: the same login in a later run is another
    # login, not a replay, so the ledger cannot tell them apart and does not try.
    config = sandbox_config(sandbox, tmp_path, max_rejected=10)
    run_target(config, load(sandbox, date=None))
    run_target(config, load(sandbox, date=None))
    assert len(sandbox.activities()) == 4


def test_expired_or_disabled_ledgers_push_again(sandbox: Any, tmp_path: Path) -> None:
    for config in (
        sandbox_config(sandbox, tmp_path / "off", max_rejected=10, push_ledger_path=""),
        sandbox_config(sandbox, tmp_path / "expired", max_rejected=10, push_ledger_hours=0),
    ):
        sandbox.reset()
        run_target(config, load(sandbox))
        run_target(config, load(sandbox))
        assert len(sandbox.activities()) == 4


def test_the_ledger_holds_digests_only(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    item = {"email": "secret-person@example.com", "action": "login"}
    PushLedger(path).record("user_activities", [item])
    text = path.read_text()
    assert "secret-person" not in text
    assert digest("user_activities", item) in text
    reloaded = PushLedger(path)
    assert reloaded.already_pushed("user_activities", dict(reversed(item.items())))
    assert not reloaded.already_pushed("user_activities", item)  # matched once only
