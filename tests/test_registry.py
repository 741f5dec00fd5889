"""The registry covers every model of the API reference, and its facts hold together."""

from __future__ import annotations

from pathlib import Path

import pytest

from planhat_common.fieldtypes import DT
from planhat_common.registry import (
    MODELS,
    Verb,
    find_model,
    get_model,
)

API_REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "planhat-api.md"
# Models docs/planhat-api.md lists ("Models and their endpoints") and our issues name.
EXPECTED = {
    "assets": "/assets",
    "campaigns": "/campaigns",
    "churn": "/churn",
    "companies": "/companies",
    "conversations": "/conversations",
    "custom_fields": "/customfields",
    "endusers": "/endusers",
    "invoices": "/invoices",
    "issues": "/issues",
    "licenses": "/licenses",
    "nps": "/nps",
    "objectives": "/objectives",
    "opportunities": "/opportunities",
    "projects": "/projects",
    "sales": "/sales",
    "tasks": "/tasks",
    "tickets": "/tickets",
    "time_entries": "/timeentries",
    "timesheets": "/timesheets",
    "users": "/users",
    "workspaces": "/workspaces",
    "workflows": "/workflows",
    "dimension_data": "/dimensiondata",
    "user_activities": None,
}


def test_every_model_is_present_with_its_path() -> None:
    assert {m.name: m.path for m in MODELS} == EXPECTED


def test_every_path_in_the_api_reference_table_is_covered() -> None:
    text = API_REFERENCE.read_text()
    section = text.split("\n## Models and their endpoints\n")[1].split("\n## ")[0]
    paths = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 2 and cells[2].startswith("`/"):
            paths.add(cells[2].strip("`").split("`")[0])
    # New 2026 revenue models with unknown verbs, and the lean list, are not models here yet.
    unconfirmed = {"/deals", "/products", "/leancompanies"}
    covered = {m.path for m in MODELS if m.path}
    assert "/companies" in paths, "the table was not found"
    assert paths - unconfirmed - covered == set()


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("Company", "companies"),
        ("company", "companies"),
        ("ENDUSER", "endusers"),
        ("timeentries", "time_entries"),
        ("TimeEntry", "time_entries"),
        ("customfields", "custom_fields"),
        ("metrics", "dimension_data"),
        ("activities", "user_activities"),
        ("note", "conversations"),
    ],
)
def test_aliases_route_case_insensitively(name: str, model: str) -> None:
    found = find_model(name)
    assert found is not None
    assert found.name == model


def test_unknown_names_raise_naming_the_accepted_models() -> None:
    with pytest.raises(KeyError, match="companies") as raised:
        get_model("widgets")
    assert "widgets" in str(raised.value)


def test_documented_quirks() -> None:
    assert get_model("invoices").company_field == "cId"
    assert get_model("invoices").external_id_field == "extId"
    assert get_model("invoices").replication_key == "lastUpdated"
    assert get_model("nps").company_field == "cId"
    assert get_model("issues").company_field == "companyIds"
    assert get_model("endusers").keyables == ("_id", "sourceId", "externalId", "email")
    assert get_model("companies").page_cap == 5000
    assert get_model("licenses").page_cap == 2000
    assert get_model("tickets").verbs == {Verb.LIST, Verb.DELETE, Verb.BULK_UPSERT}
    assert not get_model("custom_fields").supports(Verb.BULK_UPSERT)
    assert get_model("licenses").replication_key is None


def test_model_facts_are_consistent() -> None:
    names = [m.name for m in MODELS]
    assert len(names) == len(set(names))
    for model in MODELS:
        for key in (model.replication_key, model.company_field, *model.keyables):
            if key:
                assert key in model.fields, (model.name, key)
        if model.replication_key:
            assert model.fields[model.replication_key] == DT, model.name
        if model.supports(Verb.BULK_UPSERT):
            assert model.keyables, model.name
    all_aliases = [a for m in MODELS for a in m.accepted_names]
    assert len(all_aliases) == len(set(all_aliases)), "an alias routes to two models"
