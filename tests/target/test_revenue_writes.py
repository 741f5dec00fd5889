"""Deals, products and line items from warehouse-spelled columns, references resolved by key."""

from __future__ import annotations

from typing import Any

from tests.target.target_helpers import by_field, dead_letters, record, run_target, schema

STRING = {"type": ["string", "null"]}
NUMBER = {"type": ["number", "null"]}


def _messages(company: dict[str, Any]) -> list[dict[str, Any]]:
    """A warehouse's revenue tables, upper-case and snake_case as warehouses spell them."""
    products = {"EXTERNAL_ID": STRING, "NAME": STRING, "MRR": NUMBER}
    deals = {"external_id": STRING, "name": STRING, "company_external_id": STRING}
    line_items = {
        "external_id": STRING,
        "deal_external_id": STRING,
        "PRODUCT_EXTERNAL_ID": STRING,
        "type": STRING,
        "mrr": NUMBER,
    }
    return [
        schema("PRODUCTS", products, keys=["EXTERNAL_ID"]),
        record("PRODUCTS", {"EXTERNAL_ID": "P-SEATS", "NAME": "Seats", "MRR": 50}),
        schema("public-deals", deals, keys=["external_id"]),
        record(
            "public-deals",
            {"external_id": "D-1", "name": "New", "company_external_id": company["externalId"]},
        ),
        schema("line_items", line_items, keys=["external_id"]),
        record(
            "line_items",
            {
                "external_id": "L-1",
                "deal_external_id": "D-1",
                "PRODUCT_EXTERNAL_ID": "P-SEATS",
                "type": "subscription",
                "mrr": 40,
            },
        ),
        record("line_items", {"external_id": "L-2", "deal_external_id": "D-1", "mrr": 2}),
        record("line_items", {"external_id": "L-3", "deal_external_id": "NO-SUCH-DEAL"}),
        record(
            "line_items",
            {"external_id": "L-4", "deal_external_id": "D-1", "PRODUCT_EXTERNAL_ID": "GONE"},
        ),
    ]


def test_line_items_are_linked_to_their_deal_and_product_by_external_id(
    sandbox: Any, config: Any
) -> None:
    company = sandbox.records("companies")[0]
    config["max_rejected"] = 5
    run_target(config, _messages(company))

    product = by_field(sandbox, "products", "externalId")["P-SEATS"]
    deal = by_field(sandbox, "deals", "externalId")["D-1"]
    items = by_field(sandbox, "line_items", "externalId")
    assert deal["companyId"] == company["_id"]
    assert items["L-1"]["dealId"] == deal["_id"]
    assert items["L-1"]["productId"] == product["_id"]
    assert items["L-1"]["companyId"] == company["_id"]
    assert "dealExternalId" not in items["L-1"]
    assert "custom" not in items["L-1"] or "dealExternalId" not in items["L-1"]["custom"]
    assert deal["mrr"] == 42  # rolled up from L-1 and L-2
    assert set(items) >= {"L-1", "L-2"}
    assert not {"L-3", "L-4"} & set(items)
    reasons = {letter["key"]: letter["reason"] for letter in dead_letters(config)}
    assert "dealExternalId 'NO-SUCH-DEAL' matches no Deal" in reasons["externalId=L-3"]
    assert "productExternalId 'GONE' matches no Product" in reasons["externalId=L-4"]


def test_a_rerun_creates_nothing(sandbox: Any, config: Any) -> None:
    company = sandbox.records("companies")[0]
    config["max_rejected"] = 5
    config["skip_unchanged"] = False  # send everything again
    run_target(config, _messages(company))
    counts = {m: len(sandbox.records(m)) for m in ("products", "deals", "line_items")}
    run_target(config, _messages(company))
    assert {m: len(sandbox.records(m)) for m in counts} == counts
