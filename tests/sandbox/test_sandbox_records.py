"""Single-record routes, auth, 404/405 and server-set timestamps."""

from __future__ import annotations

import base64
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sandbox_client import Client

from planhat_common.registry import MODELS, Verb, get_model
from tests.sandbox_fixtures import SANDBOX_TOKEN, SandboxServer

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def test_no_token_is_401_json(sandbox: SandboxServer) -> None:
    response = requests.get(f"{sandbox.url}/companies", timeout=10)
    assert response.status_code == 401
    assert "error" in response.json()


def test_wrong_token_is_401_and_not_echoed(sandbox: SandboxServer) -> None:
    response = Client(sandbox, token="nope-secret").get("/companies")
    assert response.status_code == 401
    assert "nope-secret" not in response.text


def test_basic_auth_with_empty_password(sandbox: SandboxServer) -> None:
    basic = base64.b64encode(f"{SANDBOX_TOKEN}:".encode()).decode()
    response = requests.get(
        f"{sandbox.url}/companies", headers={"Authorization": f"Basic {basic}"}, timeout=10
    )
    assert response.status_code == 200
    wrong = base64.b64encode(b"other:").decode()
    response = requests.get(
        f"{sandbox.url}/companies", headers={"Authorization": f"Basic {wrong}"}, timeout=10
    )
    assert response.status_code == 401


def test_unknown_path_and_record_are_404(client: Client) -> None:
    assert client.get("/nosuchmodel").status_code == 404
    missing = client.get("/companies/ffffffffffffffffffffffff")
    assert missing.status_code == 404
    assert "error" in missing.json()


@pytest.mark.parametrize("prefix", ["", "extid-", "srcid-"])
def test_get_by_id_extid_srcid(client: Client, sandbox: SandboxServer, prefix: str) -> None:
    company = sandbox.records("companies")[3]
    key = {"": company["_id"], "extid-": company["externalId"], "srcid-": company["sourceId"]}
    assert client.ok(f"/companies/{prefix}{key[prefix]}")["_id"] == company["_id"]


def test_invoice_extid_uses_ext_id(client: Client, sandbox: SandboxServer) -> None:
    invoice = sandbox.records("invoices")[0]
    assert client.ok(f"/invoices/extid-{invoice['extId']}")["_id"] == invoice["_id"]


def test_srcid_is_url_decoded(client: Client, sandbox: SandboxServer) -> None:
    company = sandbox.records("companies")[0]
    client.put(f"/companies/{company['_id']}", {"sourceId": "sf/001 a"}).raise_for_status()
    assert client.ok("/companies/srcid-sf%2F001%20a")["_id"] == company["_id"]


@pytest.mark.parametrize(("prefix", "field"), [("extid-", "externalId"), ("srcid-", "sourceId")])
def test_keyed_put_is_partial_and_ignores_id(
    client: Client, sandbox: SandboxServer, prefix: str, field: str
) -> None:
    company = sandbox.records("companies")[1]
    response = client.put(
        f"/companies/{prefix}{company[field]}", {"_id": "x" * 24, "city": "Visby"}
    )
    assert response.status_code == 200
    assert response.json()["_id"] == company["_id"]
    stored = client.ok(f"/companies/{company['_id']}")
    assert stored["city"] == "Visby"
    assert stored["name"] == company["name"]
    assert stored["externalId"] == company["externalId"]
    assert stored["sourceId"] == company["sourceId"]
    assert stored["updatedAt"] > company["updatedAt"]
    assert len(sandbox.records("companies")) == 20  # an update, never a create


def test_put_merges_custom(client: Client, sandbox: SandboxServer) -> None:
    company = sandbox.records("companies")[2]
    client.put(f"/companies/{company['_id']}", {"custom": {"Tier": "Gold"}}).raise_for_status()
    custom = client.ok(f"/companies/{company['_id']}")["custom"]
    assert custom["Tier"] == "Gold"
    assert {k for k in company["custom"] if k != "Tier"} <= set(custom)


def test_delete(client: Client, sandbox: SandboxServer) -> None:
    company = sandbox.records("companies")[0]
    response = client.delete(f"/companies/{company['_id']}")
    assert response.json() == {"n": 1, "ok": 1, "deletedCount": 1}
    assert client.get(f"/companies/{company['_id']}").status_code == 404
    assert client.delete(f"/companies/{company['_id']}").status_code == 404


def test_create_with_required_fields(client: Client) -> None:
    response = client.post("/companies", {"name": "Brand New AB", "externalId": "BN-1"})
    assert response.status_code == 200
    created = response.json()
    assert len(created["_id"]) == 24
    assert ISO_MS.match(created["createdAt"])
    assert created["updatedAt"] == created["createdAt"]
    assert client.ok("/companies/extid-BN-1")["name"] == "Brand New AB"


def test_create_without_required_fields_is_400(client: Client) -> None:
    response = client.post("/companies", {"externalId": "BN-2"})
    assert response.status_code == 400
    assert "name" in response.json()["error"]


def test_create_resolves_company_reference(client: Client, sandbox: SandboxServer) -> None:
    company = sandbox.records("companies")[4]
    body = {"name": "Router", "companyId": f"extid-{company['externalId']}"}
    created = client.post("/assets", body).json()
    assert created["companyId"] == company["_id"]
    assert created["companyName"] == company["name"]
    bad = client.post("/assets", {"name": "Router", "companyId": "extid-nope"})
    assert bad.status_code == 400


def test_invoice_create_sets_last_updated_not_updated_at(client: Client, sandbox) -> None:
    company = sandbox.records("companies")[0]
    created = client.post("/invoices", {"currency": "EUR", "cId": company["_id"]}).json()
    assert ISO_MS.match(created["lastUpdated"])
    assert "updatedAt" not in created
    assert created["cName"] == company["name"]


UNSUPPORTED = [
    (m, verb) for m in MODELS if m.path for verb in (Verb.GET, Verb.CREATE) if not m.supports(verb)
]


@pytest.mark.parametrize(("model", "verb"), UNSUPPORTED, ids=lambda x: getattr(x, "name", x))
def test_unsupported_verbs_are_405(client: Client, model, verb) -> None:
    if verb is Verb.GET:
        response = client.get(f"{model.path}/{'a' * 24}")
        assert response.status_code == 405
    elif not model.supports(Verb.PUSH):
        assert client.post(model.path, {"x": 1}).status_code == 405


def test_tickets_get_one_is_405_and_custom_fields_bulk_is_405(client: Client) -> None:
    assert not get_model("tickets").supports(Verb.GET)
    assert client.get(f"/tickets/{'a' * 24}").status_code == 405
    assert client.put("/customfields", [{"name": "x"}]).status_code == 405
    assert client.request("PATCH", "/companies").status_code == 405


def test_write_timestamps_strictly_increase(client: Client, sandbox: SandboxServer) -> None:
    ids = [r["_id"] for r in sandbox.records("companies")[:5]]
    stamps = [client.put(f"/companies/{i}", {"zip": "1"}).json()["updatedAt"] for i in ids]
    stamps.append(client.post("/companies", {"name": "Z"}).json()["createdAt"])
    assert all(ISO_MS.match(s) for s in stamps)
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)


def test_concurrent_requests(client: Client) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: client.get("/companies").status_code, range(24)))
    assert statuses == [200] * 24
    with ThreadPoolExecutor(max_workers=4) as pool:
        created = list(pool.map(lambda i: client.post("/companies", {"name": f"P{i}"}), range(8)))
    assert len({r.json()["_id"] for r in created}) == 8


@pytest.mark.parametrize("prefix", ["extid-", "srcid-"])
def test_keyed_delete(client: Client, sandbox: SandboxServer, prefix: str) -> None:
    company = sandbox.records("companies")[5]
    key = company["externalId"] if prefix == "extid-" else company["sourceId"]
    response = client.delete(f"/companies/{prefix}{key}")
    assert response.status_code == 200
    assert response.json() == {"n": 1, "ok": 1, "deletedCount": 1}
    remaining = {r["_id"] for r in sandbox.records("companies")}
    assert company["_id"] not in remaining
    assert len(remaining) == 19
    # Gone under every key, and a second keyed delete finds nothing.
    for path in (company["_id"], f"extid-{company['externalId']}", f"srcid-{company['sourceId']}"):
        assert client.get(f"/companies/{path}").status_code == 404, path
    assert client.delete(f"/companies/{prefix}{key}").status_code == 404


def test_keyed_delete_unknown_key_is_404_and_deletes_nothing(
    client: Client, sandbox: SandboxServer
) -> None:
    before = {r["_id"] for r in sandbox.records("companies")}
    assert client.delete("/companies/extid-NO-SUCH-COMPANY").status_code == 404
    assert client.delete("/companies/srcid-no-such-source").status_code == 404
    assert {r["_id"] for r in sandbox.records("companies")} == before


def test_keyed_delete_frees_the_key_for_a_new_record(
    client: Client, sandbox: SandboxServer
) -> None:
    company = sandbox.records("companies")[6]
    client.delete(f"/companies/srcid-{company['sourceId']}").raise_for_status()
    created = client.post(
        "/companies",
        {"name": "Reborn", "externalId": company["externalId"], "sourceId": company["sourceId"]},
    ).json()
    assert client.ok(f"/companies/srcid-{company['sourceId']}")["_id"] == created["_id"]
    assert client.ok(f"/companies/extid-{company['externalId']}")["_id"] == created["_id"]


def test_invoice_keyed_delete_uses_ext_id(client: Client, sandbox: SandboxServer) -> None:
    invoice = sandbox.records("invoices")[1]
    assert client.delete(f"/invoices/extid-{invoice['extId']}").status_code == 200
    assert invoice["_id"] not in {r["_id"] for r in sandbox.records("invoices")}


def test_put_by_srcid_changing_the_source_id_moves_the_key(
    client: Client, sandbox: SandboxServer
) -> None:
    company = sandbox.records("companies")[8]
    client.put(f"/companies/srcid-{company['sourceId']}", {"sourceId": "crm-42"}).raise_for_status()
    assert client.ok("/companies/srcid-crm-42")["_id"] == company["_id"]
    assert client.get(f"/companies/srcid-{company['sourceId']}").status_code == 404


def test_put_by_unknown_srcid_is_404_and_creates_nothing(
    client: Client, sandbox: SandboxServer
) -> None:
    response = client.put("/companies/srcid-no-such-source", {"name": "Ghost"})
    assert response.status_code == 404
    assert "error" in response.json()
    assert "Ghost" not in {r["name"] for r in sandbox.records("companies")}


KEYED_DELETES = [
    (m, prefix)
    for m in MODELS
    if m.path and m.supports(Verb.DELETE)
    for prefix, field in (("extid-", m.external_id_field), ("srcid-", "sourceId"))
    if field and field in m.keyables
]


@pytest.mark.parametrize(
    ("model", "prefix"), KEYED_DELETES, ids=lambda x: getattr(x, "name", x).rstrip("-")
)
def test_keyed_delete_on_every_model(client: Client, sandbox: SandboxServer, model, prefix) -> None:
    records = sandbox.records(model.name)
    target = records[2]
    field = model.external_id_field if prefix == "extid-" else "sourceId"
    assert target.get(field), f"seed data has no {field} on {model.name}"
    assert client.delete(f"{model.path}/{prefix}{target[field]}").status_code == 200
    assert {r["_id"] for r in sandbox.records(model.name)} == {
        r["_id"] for r in records if r["_id"] != target["_id"]
    }


def test_ambiguous_enduser_extid_delete_removes_only_one(
    client: Client, sandbox: SandboxServer
) -> None:
    # externalId is unique per company only (docs/planhat-api.md,
    # "Keyed access (extid-/srcid-)"): two endusers may share it.
    first, second = sandbox.records("endusers")[:2]
    assert first["companyId"] != second["companyId"]
    client.put(f"/endusers/{second['_id']}", {"externalId": first["externalId"]}).raise_for_status()
    assert client.delete(f"/endusers/extid-{first['externalId']}").status_code == 200
    left = {r["_id"] for r in sandbox.records("endusers")} & {first["_id"], second["_id"]}
    assert len(left) == 1
    assert len(sandbox.records("endusers")) == 19
