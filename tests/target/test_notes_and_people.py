"""Notes (conversations of type note) and team members given by email."""

from __future__ import annotations

from typing import Any

from tests.target.target_helpers import (
    by_field,
    dead_letters,
    record,
    run_target,
    schema,
    summary_rows,
)

STRING = {"type": ["string", "null"]}


def test_a_notes_stream_writes_conversations_of_type_note(sandbox: Any, config: Any) -> None:
    company = sandbox.records("companies")[0]
    config["max_rejected"] = 5
    messages = [
        schema("public-notes", {"externalId": STRING, "subject": STRING}, keys=["externalId"]),
        record(
            "public-notes",
            {
                "externalId": "NOTE-1",
                "subject": "Kickoff call notes",
                "companyExternalId": company["externalId"],
            },
        ),
        # Notes that are only ever created (no key) must name their company.
        schema("new_notes", {"subject": STRING}),
        record("new_notes", {"subject": "No company"}),
        record("new_notes", {"subject": "Has one", "companyId": company["_id"]}),
    ]
    config["streams"] = {"new_notes": {"model": "notes", "mode": "create_only"}}
    run_target(config, messages)
    note = by_field(sandbox, "conversations", "externalId")["NOTE-1"]
    assert note["type"] == "note"
    assert note["companyId"] == company["_id"]
    subjects = by_field(sandbox, "conversations", "subject")
    assert subjects["Has one"]["type"] == "note"
    assert "No company" not in subjects
    [letter] = dead_letters(config)
    assert "companyId" in letter["reason"]


def test_owners_by_email_are_resolved_with_one_users_scan(
    sandbox: Any, config: Any, caplog: Any
) -> None:
    users = sandbox.records("users")
    companies = sandbox.records("companies")
    config["max_rejected"] = 5
    messages = [
        schema("companies", {"externalId": STRING, "owner_email": STRING}, keys=["externalId"]),
        record(
            "companies",
            {"externalId": companies[0]["externalId"], "owner_email": users[0]["email"].upper()},
        ),
        record(
            "companies",
            {
                "externalId": companies[1]["externalId"],
                "owner_email": users[1]["email"],
                "coOwnerEmail": users[2]["email"],
            },
        ),
        record(
            "companies", {"externalId": companies[2]["externalId"], "owner_email": "who@nowhere"}
        ),
    ]
    with caplog.at_level("INFO"):
        run_target(config, messages)
    stored = by_field(sandbox, "companies", "_id")
    assert stored[companies[0]["_id"]]["owner"] == users[0]["_id"]
    assert stored[companies[1]["_id"]]["owner"] == users[1]["_id"]
    assert stored[companies[1]["_id"]]["coOwner"] == users[2]["_id"]
    assert stored[companies[2]["_id"]]["owner"] == companies[2].get("owner")
    [letter] = dead_letters(config)
    assert "ownerEmail 'who@nowhere' is no team member's email" in letter["reason"]
    assert "owner_email" not in (stored[companies[0]["_id"]].get("custom") or {})
    user_lists = [r for r in sandbox.requests_log() if r["path"] == "/users"]
    assert len(user_lists) == 1
    assert summary_rows(caplog)["companies"]["calls"] == "2"  # the users scan and one upsert
