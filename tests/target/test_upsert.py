"""Upserts, keys, company references, batching, merging and custom fields against the sandbox."""

from __future__ import annotations

import math

from tests.target.target_helpers import (
    by_field,
    dead_letters,
    record,
    run_target,
    schema,
    state,
    writes,
)

COMPANY_PROPS = {
    "externalId": {"type": ["string", "null"]},
    "name": {"type": ["string", "null"]},
    "customerFrom": {"type": ["string", "null"], "format": "date-time"},
    "mrr": {"type": ["number", "null"]},
}


def test_updates_by_external_id_source_id_and_id_and_creates_new(sandbox, config) -> None:
    companies = sandbox.records("companies")
    first, second, third = companies[0], companies[1], companies[2]
    messages = [
        schema("companies", COMPANY_PROPS),
        record("companies", {"externalId": first["externalId"], "name": "By ext"}),
        record("companies", {"sourceId": second["sourceId"], "name": "By src"}),
        record("companies", {"_id": third["_id"], "name": "By id", "mrr": 12.5}),
        record(
            "companies",
            {"externalId": "NEW-1", "name": "New Co", "customerFrom": "2024-03-01T10:00:00Z"},
        ),
        state({"bookmarks": {"companies": {"replication_key_value": "x"}}}),
    ]
    states = run_target(config, messages)
    assert states == [{"bookmarks": {"companies": {"replication_key_value": "x"}}}]
    stored = by_field(sandbox, "companies", "_id")
    assert stored[first["_id"]]["name"] == "By ext"
    assert stored[second["_id"]]["name"] == "By src"
    assert stored[third["_id"]]["name"] == "By id"
    assert stored[third["_id"]]["mrr"] == 12.5
    new = by_field(sandbox, "companies", "externalId")["NEW-1"]
    assert new["name"] == "New Co"
    assert new["customerFrom"].startswith("2024-03-01T10:00:00")
    assert len(sandbox.records("companies")) == len(companies) + 1
    assert [w["method"] for w in writes(sandbox)] == ["PUT"]
    assert dead_letters(config) == []


def test_endusers_keyed_by_email_and_company_by_external_id(sandbox, config) -> None:
    user = sandbox.records("endusers")[0]
    company = sandbox.records("companies")[3]
    config["streams"] = {"contacts": {"key": "email"}}
    messages = [
        schema("contacts", {"email": {"type": "string"}}),
        record("contacts", {"email": user["email"], "position": "CTO"}),
        record(
            "contacts",
            {
                "email": "new.person@example.com",
                "firstName": "New",
                "companyExternalId": company["externalId"],
            },
        ),
    ]
    run_target(config, messages)
    stored = by_field(sandbox, "endusers", "email")
    assert stored[user["email"]]["position"] == "CTO"
    assert stored[user["email"]]["_id"] == user["_id"]
    assert stored["new.person@example.com"]["companyId"] == company["_id"]


def test_batches_of_batch_size_rows(sandbox, config) -> None:
    config["batch_size_rows"] = 4
    n = 10
    messages = [schema("companies", COMPANY_PROPS)] + [
        record("companies", {"externalId": f"BATCH-{i}", "name": f"Batch {i}"}) for i in range(n)
    ]
    run_target(config, messages)
    puts = [w for w in writes(sandbox) if w["method"] == "PUT" and w["path"] == "/companies"]
    assert len(puts) == math.ceil(n / 4)
    assert {f"BATCH-{i}" for i in range(n)} <= set(by_field(sandbox, "companies", "externalId"))


def test_byte_cap_splits_batches(sandbox, config) -> None:
    config["max_batch_bytes"] = 1024
    messages = [schema("companies", COMPANY_PROPS)] + [
        record("companies", {"externalId": f"BIG-{i}", "name": "x" * 200}) for i in range(10)
    ]
    run_target(config, messages)
    puts = [w for w in writes(sandbox) if w["path"] == "/companies"]
    assert len(puts) >= 3
    assert {f"BIG-{i}" for i in range(10)} <= set(by_field(sandbox, "companies", "externalId"))


def test_in_batch_duplicates_are_merged(sandbox, config) -> None:
    messages = [
        schema("companies", COMPANY_PROPS),
        record("companies", {"externalId": "DUP-1", "name": "First", "mrr": 1}),
        record("companies", {"externalId": "DUP-1", "name": "Second"}),
    ]
    run_target(config, messages)
    matches = [c for c in sandbox.records("companies") if c.get("externalId") == "DUP-1"]
    assert len(matches) == 1
    assert matches[0]["name"] == "Second"
    assert matches[0]["mrr"] == 1
    assert dead_letters(config) == []  # the sandbox would answer "externalId duplicated"


def test_custom_field_mapping(sandbox, config) -> None:
    company = sandbox.records("companies")[0]
    config["streams"] = {"accounts": {"custom_fields": ["Tier"]}}
    messages = [
        schema("accounts", {"externalId": {"type": "string"}}),
        record(
            "accounts",
            {"externalId": company["externalId"], "Tier": "Gold", "plan_code": "P-9"},
        ),
        schema("companies", {"externalId": {"type": "string"}}),
        record("companies", {"externalId": "CUST-1", "name": "C", "Segment": "SMB"}),
    ]
    run_target({**config, "exclude_properties": ["secret_col"]}, messages)
    stored = by_field(sandbox, "companies", "externalId")
    assert stored[company["externalId"]]["custom"]["Tier"] == "Gold"
    assert (
        stored[company["externalId"]]["custom"]["Seats Purchased"]
        == company["custom"]["Seats Purchased"]
    )
    assert stored[company["externalId"]]["plan_code"] == "P-9"  # not listed: top level
    assert stored["CUST-1"]["custom"] == {"Segment": "SMB"}


def test_invoices_use_ext_id_and_cid(sandbox, config) -> None:
    company = sandbox.records("companies")[2]
    messages = [
        schema("invoices", {"externalId": {"type": "string"}}),
        record(
            "invoices",
            {"externalId": "INV-X", "currency": "EUR", "companySourceId": company["sourceId"]},
        ),
    ]
    run_target(config, messages)
    invoice = by_field(sandbox, "invoices", "extId")["INV-X"]
    assert invoice["cId"] == company["_id"]


def test_custom_fields_model_uses_single_record_calls(sandbox, config) -> None:
    existing = sandbox.records("custom_fields")[0]
    # Definitions are keyed by _id only: new ones come from a create_only stream.
    config["streams"] = {"new_fields": {"model": "custom_fields", "mode": "create_only"}}
    messages = [
        schema("custom_fields", {"_id": {"type": ["string", "null"]}}),
        record("custom_fields", {"_id": existing["_id"], "isHidden": True}),
        schema("new_fields", {"name": {"type": "string"}}),
        record("new_fields", {"name": "New Field", "type": "text", "parent": "Company"}),
    ]
    run_target(config, messages)
    stored = by_field(sandbox, "custom_fields", "_id")
    assert stored[existing["_id"]]["isHidden"] is True
    assert "New Field" in by_field(sandbox, "custom_fields", "name")
    methods = sorted((w["method"], w["path"].count("/")) for w in writes(sandbox))
    assert methods == [("POST", 1), ("PUT", 2)]
