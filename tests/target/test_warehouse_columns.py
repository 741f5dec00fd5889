"""Columns as warehouses spell them, keys from the SCHEMA, and streams that cannot be keyed."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from planhat_common.registry import get_model
from target_planhat.errors import RejectedRecordsError, StreamSetupError
from target_planhat.mapping.columns import stream_columns
from target_planhat.mapping.field_names import ColumnClashError, fold, map_columns
from target_planhat.mapping.keys import keyless_problem
from target_planhat.mapping.options import MappingOptions, Mode
from tests.target.target_helpers import by_field, dead_letters, record, run_target, schema, writes

COMPANIES = get_model("companies")
STRING = {"type": ["string", "null"]}


# -- pure --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "folded"),
    [
        ("externalId", "externalid"),
        ("EXTERNALID", "externalid"),
        ("external_id", "externalid"),
        ("company-external id", "companyexternalid"),
        ("_id", "_id"),
        ("ID", "id"),
    ],
)
def test_fold_drops_case_and_separators_but_not_leading_underscores(
    spelling: str, folded: str
) -> None:
    assert fold(spelling) == folded


def test_columns_match_fields_then_custom_fields() -> None:
    columns = map_columns(
        ["EXTERNALID", "name", "company_external_id", "seats_purchased", "Tier", "region"],
        ["externalId", "name", "companyExternalId", "_id", "id"],
        ["Seats Purchased", "Tier"],
    )
    assert columns.standard == {
        "EXTERNALID": "externalId",
        "company_external_id": "companyExternalId",
    }
    assert columns.custom == {"seats_purchased": "Seats Purchased"}
    assert columns.undefined_custom == ("region",)


def test_custom_names_are_matched_only_when_one_definition_fits() -> None:
    columns = map_columns(["tier"], [], ["Tier", "TIER"])
    assert columns.custom == {}  # two definitions fold to "tier": keep the column's name
    assert columns.undefined_custom == ("tier",)


def test_two_columns_naming_one_field_are_refused() -> None:
    with pytest.raises(ColumnClashError, match="'externalId' and 'external_id'"):
        map_columns(["externalId", "external_id"], ["externalId"])


def test_schema_key_properties_become_the_key_when_they_name_a_keyable() -> None:
    setup = stream_columns(MappingOptions(COMPANIES), ["externalid", "name"], ["externalid"], None)
    assert setup.mapping.key == "externalId"
    assert setup.mapping.renames == {"externalid": "externalId"}
    assert setup.key_columns == (("externalid", "externalId"),)
    configured = MappingOptions(COMPANIES, key="sourceId")
    setup = stream_columns(configured, ["source_id", "external_id"], ["external_id"], None)
    assert setup.mapping.key == "sourceId"  # streams.<name>.key wins


def test_a_stream_without_key_columns_is_refused_unless_create_only() -> None:
    setup = stream_columns(MappingOptions(COMPANIES), ["name", "mrr"], [], None)
    problem = keyless_problem("public-accounts", Mode.UPSERT, setup)
    assert problem is not None
    assert "public-accounts" in problem
    assert "create_only" in problem
    assert keyless_problem("public-accounts", Mode.CREATE_ONLY, setup) is None
    keyed = stream_columns(MappingOptions(COMPANIES, key="sourceId"), ["name"], [], None)
    assert "no column of the stream holds it" in str(keyless_problem("s", Mode.UPSERT, keyed))


# -- against the sandbox -----------------------------------------------------------------------


def test_upper_case_columns_land_in_planhat_fields_and_rerun_updates(sandbox, config) -> None:
    props = {"EXTERNALID": STRING, "NAME": STRING, "MRR": {"type": ["number", "null"]}}
    messages = [
        schema("COMPANIES", props, keys=["EXTERNALID"]),
        record("COMPANIES", {"EXTERNALID": "SNOW-1", "NAME": "Snow Co", "MRR": 10.5}),
        record("COMPANIES", {"EXTERNALID": "SNOW-2", "NAME": "Flake Co", "MRR": 3}),
    ]
    before = len(sandbox.records("companies"))
    run_target(config, messages)
    run_target(config, messages)
    stored = by_field(sandbox, "companies", "externalId")
    assert stored["SNOW-1"]["name"] == "Snow Co"
    assert stored["SNOW-1"]["mrr"] == 10.5
    assert "NAME" not in stored["SNOW-1"].get("custom", {})
    assert len(sandbox.records("companies")) == before + 2


def test_lower_and_snake_case_columns_key_and_link(sandbox, config) -> None:
    company = sandbox.records("companies")[0]
    messages = [
        schema("companies", {"externalid": STRING, "name": STRING}, keys=["externalid"]),
        record("companies", {"externalid": company["externalId"], "name": "Renamed"}),
        schema(
            "endusers",
            {"external_id": STRING, "email": STRING, "company_external_id": STRING},
            keys=["external_id"],
        ),
        record(
            "endusers",
            {
                "external_id": "EU-SNAKE",
                "email": "snake@example.com",
                "company_external_id": company["externalId"],
                "seats_purchased": 4,
            },
        ),
    ]
    run_target(config, messages)
    assert by_field(sandbox, "companies", "_id")[company["_id"]]["name"] == "Renamed"
    enduser = by_field(sandbox, "endusers", "externalId")["EU-SNAKE"]
    assert enduser["companyId"] == company["_id"]
    assert "external_id" not in enduser.get("custom", {})
    assert enduser["custom"]["seats_purchased"] == 4  # no such EndUser custom field defined


def test_custom_columns_match_the_tenants_custom_fields(sandbox, config) -> None:
    company = sandbox.records("companies")[1]
    messages = [
        schema("companies", {"externalId": STRING, "seats_purchased": {"type": "number"}}),
        record("companies", {"externalId": company["externalId"], "seats_purchased": 42}),
    ]
    run_target(config, messages)
    custom = by_field(sandbox, "companies", "_id")[company["_id"]]["custom"]
    assert custom["Seats Purchased"] == 42
    assert "seats_purchased" not in custom


def test_columns_naming_one_field_fail_the_run_at_schema(sandbox, config) -> None:
    messages = [
        schema("companies", {"externalId": STRING, "external_id": STRING}),
        record("companies", {"externalId": "A", "external_id": "B"}),
    ]
    with pytest.raises(StreamSetupError, match="both name the field 'externalId'"):
        run_target(config, messages)
    assert writes(sandbox) == []


def test_a_keyless_stream_fails_at_schema_and_writes_nothing(sandbox, config) -> None:
    messages = [schema("companies", {"name": STRING}), record("companies", {"name": "Again"})]
    with pytest.raises(StreamSetupError, match="every run would create them again"):
        run_target(config, messages)
    assert writes(sandbox) == []
    config["streams"] = {"companies": {"mode": "create_only"}}
    run_target(config, messages)
    assert "Again" in by_field(sandbox, "companies", "name")


def test_a_record_without_key_value_in_a_keyed_stream_is_rejected(sandbox, config) -> None:
    config["max_rejected"] = 5
    messages = [
        schema("companies", {"externalId": STRING, "name": STRING}),
        record("companies", {"externalId": "K-1", "name": "Keyed"}),
        record("companies", {"externalId": None, "name": "Not keyed"}),
    ]
    run_target(config, messages)
    names = by_field(sandbox, "companies", "name")
    assert "Keyed" in names
    assert "Not keyed" not in names
    [letter] = dead_letters(config)
    assert "no value in any key column" in letter["reason"]


def test_without_custom_field_definitions_columns_keep_their_names(sandbox, config, caplog) -> None:
    sandbox.set_faults(missing_models=["/customfields"])
    company = sandbox.records("companies")[2]
    messages = [
        schema("companies", {"externalId": STRING, "seats_purchased": {"type": "number"}}),
        record("companies", {"externalId": company["externalId"], "seats_purchased": 7}),
    ]
    with caplog.at_level("INFO"):
        run_target(config, messages)
    custom = by_field(sandbox, "companies", "_id")[company["_id"]]["custom"]
    assert custom["seats_purchased"] == 7
    assert "Custom field definitions could not be read" in caplog.text
    assert "no Company custom field is defined" not in caplog.text


def test_records_rejected_before_mapping_keep_their_key_in_both_files(sandbox, config) -> None:
    """Rejected for a bad value, a missing key property or an unknown owner: the key the
    record's (warehouse-cased) columns give is in the dead letter and the results file."""
    config["results_path"] = str(Path(config["dead_letter_path"]).with_name("results.jsonl"))
    date_time = {"type": ["string", "null"], "format": "date-time"}
    messages = [
        schema(
            "ENDUSERS",
            {"EMAIL": STRING, "EXTERNAL_ID": STRING, "FIRST_NAME": STRING, "LAST_SEEN": date_time},
            keys=["EMAIL"],
        ),
        record("ENDUSERS", {"EMAIL": "good1@example.com", "LAST_SEEN": "2025-13-45T99:00:00Z"}),
        record("ENDUSERS", {"EMAIL": "good2@example.com", "FIRST_NAME": 7}),  # not a string
        # No EMAIL at all: the key falls back to the next keyable it carries, as when written.
        record("ENDUSERS", {"EXTERNAL_ID": "EU-77", "FIRST_NAME": "Nomail"}),
        record("ENDUSERS", {"EMAIL": "fine@example.com", "LAST_SEEN": "2025-01-02T03:04:05Z"}),
        # A SCHEMA listing no properties: the columns are matched from the record itself.
        schema("COMPANIES", {}, keys=["EXTERNALID"]),
        record("COMPANIES", {"SOURCE_ID": "SRC-9", "NAME": "No external id"}),
        schema("ASSETS", {"EXTERNAL_ID": STRING, "NAME": STRING, "OWNER_EMAIL": STRING}),
        record("ASSETS", {"EXTERNAL_ID": "A-1", "NAME": "Kit", "OWNER_EMAIL": "ghost@nowhere.io"}),
    ]
    with pytest.raises(RejectedRecordsError):
        run_target({**config, "max_rejected": 0}, messages)
    letters = {line["key"]: line for line in dead_letters(config)}
    assert set(letters) == {
        "email=good1@example.com",
        "email=good2@example.com",
        "externalId=EU-77",
        "sourceId=SRC-9",
        "externalId=A-1",
    }
    assert "unreadable date-time in 'LAST_SEEN'" in letters["email=good1@example.com"]["reason"]
    assert letters["email=good1@example.com"]["record"]["EMAIL"] == "good1@example.com"
    assert "missing key properties: EMAIL" in letters["externalId=EU-77"]["reason"]
    assert "no team member" in letters["externalId=A-1"]["reason"]

    results = [orjson.loads(line) for line in Path(config["results_path"]).read_text().splitlines()]
    rejected = {(r["key_field"], r["key_value"]) for r in results if r["outcome"] == "rejected"}
    assert rejected == {
        ("email", "good1@example.com"),
        ("email", "good2@example.com"),
        ("externalId", "EU-77"),
        ("sourceId", "SRC-9"),
        ("externalId", "A-1"),
    }
    assert "fine@example.com" in by_field(sandbox, "endusers", "email")
