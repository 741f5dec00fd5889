"""The registry covers every model of the API reference, and its facts hold together."""

from __future__ import annotations

from pathlib import Path

import pytest

from planhat_common.fieldtypes import DT, SS, B, N
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
    "products": "/products",
    "deals": "/deals",
    "line_items": "/lineitems",
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
    # The lean list is a view of companies, not a model (docs/planhat-api.md).
    unconfirmed = {"/leancompanies"}
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
        ("line-items", "line_items"),
        ("LINE_ITEMS", "line_items"),
        ("lineitems", "line_items"),
        ("LineItem", "line_items"),
        ("deal", "deals"),
        ("product", "products"),
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


def test_revenue_models_reference_their_parents_and_come_after_them() -> None:
    order = [m.name for m in MODELS]
    line_items = get_model("line_items")
    assert dict(line_items.references) == {"dealId": "deals", "productId": "products"}
    assert line_items.parent_field == "dealId"
    assert line_items.required_for_create == ("dealId",)
    assert get_model("deals").required_for_create == ("companyId",)
    assert get_model("products").required_for_create == ("name",)
    assert get_model("products").company_field is None
    for model in MODELS:
        for field_name, parent in model.references:
            assert field_name in model.fields, (model.name, field_name)
            assert order.index(parent) < order.index(model.name), (model.name, parent)
        if model.parent_field:
            assert model.parent_field in dict(model.references), model.name
        for monthly, annual in model.annual_pairs:
            assert {monthly, annual} <= model.fields.keys(), model.name
    assert order.index("companies") < order.index("deals")


def test_revenue_models_are_incremental_and_typed_from_the_developer_pages() -> None:
    for name in ("products", "deals", "line_items"):
        model = get_model(name)
        assert model.replication_key == "updatedAt", name
        assert model.fields["mrr"] == N, name
        assert model.fields["arr"] == N, name
    assert get_model("deals").fields["closeDate"] == DT
    assert get_model("line_items").fields["fixedPeriod"] == B
    assert get_model("products").fields["packages"] == SS
