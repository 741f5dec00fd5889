"""Pure mapping and response-parsing rules (no HTTP)."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest

from planhat_common.registry import get_model
from target_planhat.mapping.keys import resolve_key_field
from target_planhat.mapping.options import CustomFieldsPolicy, MappingOptions
from target_planhat.mapping.records import MappedRecord, map_record, merge_duplicates
from target_planhat.outcomes.bulk_answers import (
    ItemError,
    assign_errors,
    parse_bulk_body,
    parse_push_body,
)

COMPANIES = get_model("companies")
ENDUSERS = get_model("endusers")
INVOICES = get_model("invoices")
ISSUES = get_model("issues")


def test_serialises_datetimes_decimals_and_drops_sdc() -> None:
    record = {
        "externalId": "c1",
        "name": "Acme",
        "customerFrom": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "mrr": decimal.Decimal("12.50"),
        "h": decimal.Decimal(7),
        "_sdc_extracted_at": "2024-01-01T00:00:00Z",
    }
    mapped = map_record(record, MappingOptions(COMPANIES))
    assert mapped.payload == {
        "externalId": "c1",
        "name": "Acme",
        "customerFrom": "2024-01-02T03:04:05+00:00",
        "mrr": 12.5,
        "h": 7,
    }
    assert mapped.key == ("externalId", "c1")
    assert not mapped.deleted


def test_values_the_tap_rescued_go_back_into_their_fields() -> None:
    record = {
        "externalId": "c1",
        "h": None,
        "custom": {"Seats": None, "Tier": "Gold"},
        "_rescued_data": {"h": "n/a", "custom": {"Seats": "twelve"}},
    }
    mapped = map_record(record, MappingOptions(COMPANIES))
    assert mapped.payload == {
        "externalId": "c1",
        "h": "n/a",
        "custom": {"Seats": "twelve", "Tier": "Gold"},
    }


def test_key_choice_follows_registry_order_and_skips_empty_values() -> None:
    options = MappingOptions(ENDUSERS)
    assert map_record({"_id": "", "email": "a@x.io", "sourceId": "s"}, options).key == (
        "sourceId",
        "s",
    )
    assert map_record({"email": "a@x.io"}, options).key == ("email", "a@x.io")
    assert map_record({"firstName": "A"}, options).key is None
    keyed = MappingOptions(ENDUSERS, key="email")
    assert map_record({"externalId": "e", "email": "a@x.io"}, keyed).key == ("email", "a@x.io")
    assert map_record({"externalId": "e"}, keyed).key == ("externalId", "e")


def test_company_references() -> None:
    enduser = map_record({"email": "a@x.io", "companyExternalId": "C-1"}, MappingOptions(ENDUSERS))
    assert enduser.payload == {"email": "a@x.io", "companyId": "extid-C-1"}
    invoice = map_record(
        {"externalId": "i1", "companySourceId": "S-9", "currency": "EUR"}, MappingOptions(INVOICES)
    )
    assert invoice.payload == {"extId": "i1", "cId": "srcid-S-9", "currency": "EUR"}
    assert invoice.key == ("extId", "i1")
    issue = map_record({"title": "Bug", "companyId": "abc"}, MappingOptions(ISSUES))
    assert issue.payload == {"title": "Bug", "companyIds": ["abc"]}
    explicit = map_record(
        {"email": "a@x.io", "companyId": "abc", "companyExternalId": "C-1"},
        MappingOptions(ENDUSERS),
    )
    assert explicit.payload["companyId"] == "abc"


def test_custom_field_policies() -> None:
    record = {"externalId": "c1", "name": "Acme", "tier": "gold", "seats": 3, "custom": {"a": 1}}
    assert map_record(record, MappingOptions(COMPANIES)).payload == {
        "externalId": "c1",
        "name": "Acme",
        "custom": {"a": 1, "tier": "gold", "seats": 3},
    }
    off = MappingOptions(COMPANIES, custom_fields=CustomFieldsPolicy.parse("off"))
    assert map_record(record, off).payload == record
    listed = MappingOptions(COMPANIES, custom_fields=CustomFieldsPolicy.parse(["tier"]))
    assert map_record(record, listed).payload == {
        "externalId": "c1",
        "name": "Acme",
        "seats": 3,
        "custom": {"a": 1, "tier": "gold"},
    }
    excluded = MappingOptions(COMPANIES, exclude=frozenset({"seats", "tier"}))
    assert "custom" in map_record(record, excluded).payload
    assert map_record(record, excluded).payload["custom"] == {"a": 1}
    with pytest.raises(ValueError, match="custom_fields"):
        CustomFieldsPolicy.parse("some")


def test_key_setting_is_checked_against_the_model() -> None:
    assert resolve_key_field(INVOICES, "externalId") == "extId"
    assert resolve_key_field(ENDUSERS, "email") == "email"
    with pytest.raises(ValueError, match="not a keyable of Company"):
        resolve_key_field(COMPANIES, "email")


def _mapped(payload: dict, *, deleted: bool = False) -> MappedRecord:
    return map_record(
        {**payload, **({"_sdc_deleted_at": "2024-01-01"} if deleted else {})},
        MappingOptions(ENDUSERS),
    )


def test_in_batch_merge_later_fields_win_and_respect_company_scope() -> None:
    records = [
        _mapped({"email": "a@x.io", "firstName": "A", "custom": {"x": 1}}),
        _mapped({"firstName": "no key"}),
        _mapped({"email": "a@x.io", "lastName": "B", "custom": {"y": 2}}),
        _mapped({"email": "a@x.io", "firstName": "C"}),
        _mapped({"externalId": "e1", "companyId": "c1", "firstName": "one"}),
        _mapped({"externalId": "e1", "companyId": "c2", "firstName": "two"}),
    ]
    merged = merge_duplicates(records, ENDUSERS)
    assert len(merged) == 4
    first = merged[0]
    assert first.count == 3
    assert first.payload == {
        "email": "a@x.io",
        "firstName": "C",
        "lastName": "B",
        "custom": {"x": 1, "y": 2},
    }
    assert [m.payload.get("firstName") for m in merged[2:]] == ["one", "two"]


def test_delete_replaces_earlier_writes_of_the_same_key() -> None:
    merged = merge_duplicates(
        [
            _mapped({"email": "a@x.io", "firstName": "A"}),
            _mapped({"email": "a@x.io"}, deleted=True),
        ],
        ENDUSERS,
    )
    assert len(merged) == 1
    assert merged[0].deleted
    assert merged[0].count == 2


def test_parse_bulk_body_tolerates_missing_keys_and_odd_errors() -> None:
    outcome = parse_bulk_body(
        {"created": 1, "updated": 2, "updatedErrors": ["email duplicated", None], "nonupdates": 1}
    )
    assert (outcome.created, outcome.updated, outcome.unchanged) == (1, 2, 1)
    assert [e.reason for e in outcome.errors] == ["update failed: email duplicated"]
    assert parse_bulk_body("not json").errors == []
    push = parse_push_body({"processed": 2, "errors": [{"item": 1, "error": "bad"}]}, 3)
    assert push.created == 2
    assert push.errors[0].reason == "push failed: bad"


def test_errors_map_back_by_keyable_then_index_else_chunk() -> None:
    chunk = [
        _mapped({"email": "a@x.io", "externalId": "E-1"}),
        _mapped({"email": "b@x.io"}),
        _mapped({"firstName": "no key"}),
    ]
    errors = [
        ItemError("createdErrors", {"key": {"externalId": "E-1"}, "error": "boom"}),
        ItemError("updatedErrors", "b@x.io is invalid"),
        ItemError("createdErrors", {"item": 2, "error": "missing email", "key": {}}),
        ItemError("permissionErrors", "no access"),
    ]
    by_record, unmatched = assign_errors(errors, chunk)
    assert by_record == {
        0: ["create failed: boom"],
        1: ["update failed: b@x.io is invalid"],
        2: ["create failed: missing email"],
    }
    assert [e.detail for e in unmatched] == ["no access"]
