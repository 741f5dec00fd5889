"""The revenue models over HTTP: derived values, parents, required fields, a coherent seed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from sandbox_client import Client

    from tests.sandbox_fixtures import SandboxServer


def _deal_revenue(line_items: list[dict[str, Any]], deal_id: str) -> float:
    return sum(
        li["mrr"]
        for li in line_items
        if li.get("dealId") == deal_id and li.get("type") != "fee" and li.get("mrr")
    )


def test_seed_is_coherent(sandbox: SandboxServer) -> None:
    deals = {d["_id"]: d for d in sandbox.records("deals")}
    products = {p["_id"] for p in sandbox.records("products")}
    companies = {c["_id"] for c in sandbox.records("companies")}
    line_items = sandbox.records("line_items")
    assert line_items
    for deal in deals.values():
        assert deal["companyId"] in companies
    kinds = set()
    for item in line_items:
        deal = deals[item["dealId"]]
        assert item["companyId"] == deal["companyId"]
        assert item.get("productId") is None or item["productId"] in products
        kinds.add((item["type"], item["fixedPeriod"]))
        if item["type"] == "subscription":
            assert item["arr"] == item["mrr"] * 12
            assert (item.get("toDate") is not None) is item["fixedPeriod"]
    assert kinds == {("subscription", True), ("subscription", False), ("fee", False)}
    with_items = {item["dealId"] for item in line_items}
    for deal_id in with_items:
        assert deals[deal_id]["mrr"] == _deal_revenue(line_items, deal_id)


def test_mrr_and_arr_are_derived_from_each_other(client: Client) -> None:
    body = client.put(
        "/products",
        [{"externalId": "P-1", "name": "Seats", "mrr": 100}, {"externalId": "P-2", "name": "X"}],
    ).json()
    assert body["created"] == 2
    assert client.ok("/products/extid-P-1")["arr"] == 1200
    client.put("/products", [{"externalId": "P-2", "arr": 600}])
    assert client.ok("/products/extid-P-2")["mrr"] == 50


def test_a_line_item_takes_its_deals_company_and_rolls_up_into_it(
    client: Client, sandbox: SandboxServer
) -> None:
    first, second = sandbox.records("companies")[:2]
    deals = client.put(
        "/deals",
        [
            {"externalId": "D-1", "name": "New", "companyId": first["_id"]},
            {"externalId": "D-2", "name": "Upsell", "companyId": f"extid-{second['externalId']}"},
        ],
    ).json()
    deal_1, deal_2 = (k["_id"] for k in deals["insertsKeys"])
    items = [
        {"externalId": "L-1", "dealId": deal_1, "type": "subscription", "mrr": 10},
        {"externalId": "L-2", "dealId": deal_1, "type": "fee", "value": 500},
    ]
    assert client.put("/lineitems", items).json()["created"] == 2
    line_item = client.ok("/lineitems/extid-L-1")
    assert line_item["companyId"] == first["_id"]
    assert line_item["arr"] == 120
    deal = client.ok(f"/deals/{deal_1}")
    assert (deal["mrr"], deal["arr"], deal["fees"]) == (10, 120, 500)
    # Moving the subscription to the other deal moves its company and its revenue.
    client.put("/lineitems", [{"externalId": "L-1", "dealId": deal_2}])
    assert client.ok("/lineitems/extid-L-1")["companyId"] == second["_id"]
    assert client.ok(f"/deals/{deal_2}")["mrr"] == 10
    assert client.ok(f"/deals/{deal_1}")["mrr"] == 0
    client.delete(f"/lineitems/{line_item['_id']}")
    assert client.ok(f"/deals/{deal_2}")["mrr"] == 0


@pytest.mark.parametrize(
    ("path", "item", "reason"),
    [
        ("/deals", {"externalId": "D-9", "name": "No company"}, "companyId"),
        ("/products", {"externalId": "P-9", "mrr": 5}, "name"),
        ("/lineitems", {"externalId": "L-9", "mrr": 5}, "dealId"),
        ("/lineitems", {"externalId": "L-9", "dealId": "extid-DEAL-000001"}, "match any Deal"),
        ("/lineitems", {"externalId": "L-9", "dealId": "0" * 24}, "match any Deal"),
    ],
)
def test_required_fields_and_references_are_enforced(
    client: Client, path: str, item: dict[str, Any], reason: str
) -> None:
    response = client.put(path, [item])
    assert response.status_code == 400
    (error,) = response.json()["createdErrors"]
    assert reason in error["error"]
    assert client.get(f"{path}/extid-{item['externalId']}").status_code == 404


def test_a_line_item_with_an_unknown_product_is_refused(
    client: Client, sandbox: SandboxServer
) -> None:
    deal = sandbox.records("deals")[0]
    response = client.post("/lineitems", {"dealId": deal["_id"], "productId": "nope"})
    assert response.status_code == 400
    assert "productId 'nope' does not match any Product" in response.text
