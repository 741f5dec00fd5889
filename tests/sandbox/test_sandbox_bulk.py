"""Bulk upsert: matching, company references, response body and statuses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from planhat_common.registry import BULK_UPSERT_MAX_ITEMS

if TYPE_CHECKING:
    from sandbox_client import Client

    from tests.sandbox_fixtures import SandboxServer

RESPONSE_KEYS = {
    "created",
    "createdErrors",
    "insertsKeys",
    "updated",
    "updatedErrors",
    "updatesKeys",
    "nonupdates",
    "modified",
    "upsertedIds",
    "permissionErrors",
}


def test_create_and_update_200(client: Client, sandbox: SandboxServer) -> None:
    company = sandbox.records("companies")[0]
    response = client.put(
        "/companies",
        [
            {"externalId": company["externalId"], "city": "Lund"},
            {"externalId": "NEW-1", "name": "New One"},
        ],
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == RESPONSE_KEYS
    assert body["created"] == 1
    assert body["updated"] == 1
    assert body["updatesKeys"] == [{"_id": company["_id"], "externalId": company["externalId"]}]
    new_id = body["insertsKeys"][0]["_id"]
    assert body["insertsKeys"] == [{"_id": new_id, "externalId": "NEW-1"}]
    assert body["modified"] == [company["_id"]]
    assert set(body["upsertedIds"]) == {company["_id"], new_id}
    assert client.ok(f"/companies/{company['_id']}")["city"] == "Lund"
    assert client.ok("/companies/extid-NEW-1")["_id"] == new_id


def test_id_matches_before_external_id(client: Client, sandbox: SandboxServer) -> None:
    first, second = sandbox.records("companies")[:2]
    item = {"_id": first["_id"], "externalId": second["externalId"], "city": "Kiruna"}
    body = client.put("/companies", [item]).json()
    assert body["updatesKeys"][0]["_id"] == first["_id"]
    assert client.ok(f"/companies/{first['_id']}")["city"] == "Kiruna"
    assert client.ok(f"/companies/{second['_id']}").get("city") == second.get("city")


def test_falls_through_to_next_keyable(client: Client, sandbox: SandboxServer) -> None:
    company = sandbox.records("companies")[5]
    item = {"sourceId": "no-such-source", "externalId": company["externalId"], "zip": "99"}
    body = client.put("/companies", [item]).json()
    assert body["updated"] == 1
    assert body["modified"] == [company["_id"]]


def test_enduser_matches_on_email(client: Client, sandbox: SandboxServer) -> None:
    enduser = sandbox.records("endusers")[0]
    body = client.put("/endusers", [{"email": enduser["email"], "position": "CTO"}]).json()
    assert body["modified"] == [enduser["_id"]]


def test_unchanged_item_is_a_nonupdate(client: Client, sandbox: SandboxServer) -> None:
    company = sandbox.records("companies")[0]
    body = client.put("/companies", [{"_id": company["_id"], "name": company["name"]}]).json()
    assert body["nonupdates"] == 1
    assert body["updated"] == 0
    assert body["modified"] == []
    assert client.ok(f"/companies/{company['_id']}")["updatedAt"] == company["updatedAt"]


def test_company_reference_resolution(client: Client, sandbox: SandboxServer) -> None:
    company = sandbox.records("companies")[2]
    items = [
        {"email": "a@x.io", "companyId": f"extid-{company['externalId']}"},
        {"email": "b@x.io", "companyId": f"srcid-{company['sourceId']}"},
        {"email": "c@x.io", "companyId": "extid-missing"},
    ]
    response = client.put("/endusers", items)
    assert response.status_code == 206
    body = response.json()
    assert body["created"] == 2
    assert len(body["createdErrors"]) == 1
    error = body["createdErrors"][0]
    assert error["item"] == 2
    assert "companyId" in error["error"]
    assert error["key"] == {"email": "c@x.io"}
    for key in body["insertsKeys"]:
        created = client.ok(f"/endusers/{key['_id']}")
        assert created["companyId"] == company["_id"]
        assert created["companyName"] == company["name"]


def test_external_id_match_is_scoped_by_company(client: Client, sandbox: SandboxServer) -> None:
    asset = sandbox.records("assets")[0]
    other = next(c for c in sandbox.records("companies") if c["_id"] != asset["companyId"])
    item = {
        "externalId": asset["externalId"],
        "companyId": other["_id"],
        "name": "Same ext id, other company",
    }
    body = client.put("/assets", [item]).json()
    assert body["created"] == 1
    assert body["updated"] == 0
    same = {"externalId": asset["externalId"], "companyId": asset["companyId"], "name": "Renamed"}
    assert client.put("/assets", [same]).json()["modified"] == [asset["_id"]]


def test_all_failed_is_400(client: Client) -> None:
    response = client.put("/companies", [{"externalId": "no-name"}, {"city": "x"}])
    assert response.status_code == 400
    body = response.json()
    assert len(body["createdErrors"]) == 2
    assert "name" in body["createdErrors"][0]["error"]


def test_unknown_id_is_an_error(client: Client) -> None:
    response = client.put("/companies", [{"_id": "f" * 24, "name": "ghost"}])
    assert response.status_code == 400


def test_duplicate_key_in_batch(client: Client) -> None:
    items = [
        {"externalId": "DUP", "email": "d@x.io"},
        {"externalId": "DUP", "email": "d@x.io", "position": "x"},
    ]
    response = client.put("/endusers", items)
    assert response.status_code == 206
    body = response.json()
    assert body["created"] == 1
    (error,) = body["createdErrors"] + body["updatedErrors"]
    assert error["item"] == 1
    assert error["error"] == "externalId,email duplicated"
    assert error["key"] == {"externalId": "DUP", "email": "d@x.io"}


def test_too_many_items_is_400(client: Client) -> None:
    items = [{"name": f"c{i}"} for i in range(BULK_UPSERT_MAX_ITEMS + 1)]
    assert client.put("/companies", items).status_code == 400
    assert len(client.ok("/companies", limit=5000)) == 20


def test_max_items_is_accepted(client: Client) -> None:
    items = [{"name": f"c{i}", "externalId": f"bulk-{i}"} for i in range(BULK_UPSERT_MAX_ITEMS)]
    response = client.put("/companies", items)
    assert response.status_code == 200
    assert response.json()["created"] == BULK_UPSERT_MAX_ITEMS


def test_bad_payloads_are_400(client: Client) -> None:
    assert client.put("/companies", {"name": "not an array"}).status_code == 400
    response = client.request("PUT", "/companies", data=b"[{nope")
    assert response.status_code == 400


def test_bulk_sets_replication_key(client: Client, sandbox: SandboxServer) -> None:
    invoice = sandbox.records("invoices")[0]
    body = client.put("/invoices", [{"extId": invoice["extId"], "status": "zzz"}]).json()
    assert body["modified"] == [invoice["_id"]]
    assert client.ok(f"/invoices/{invoice['_id']}")["lastUpdated"] > invoice["lastUpdated"]


def test_tickets_need_source_id_and_email(client: Client) -> None:
    response = client.put("/tickets", [{"sourceId": "T-1", "email": "e@x.io"}, {"sourceId": "T-2"}])
    assert response.status_code == 206
    assert response.json()["created"] == 1
