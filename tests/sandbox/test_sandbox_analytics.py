"""Analytics routes (metrics push, activities) and dimension-data reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from tests.sandbox_fixtures import SANDBOX_TENANT_TOKEN, SandboxServer

if TYPE_CHECKING:
    from sandbox_client import Client


def _post(sandbox: SandboxServer, path: str, body: object) -> requests.Response:
    return requests.post(f"{sandbox.analytics_url}{path}", json=body, timeout=10)


def test_seeded_dimension_data_filters(client: Client, sandbox: SandboxServer) -> None:
    company = sandbox.records("companies")[0]
    rows = client.ok("/dimensiondata", cid=company["_id"], dimid="logins", limit=2000)
    assert len(rows) == 7
    assert all(r["companyId"] == company["_id"] and r["dimensionId"] == "logins" for r in rows)
    assert set(rows[0]) == {
        "_id",
        "dimensionId",
        "time",
        "value",
        "model",
        "parentId",
        "companyId",
        "companyName",
    }
    # from/to are inclusive epoch days: 19722 = 2023-12-31, 19723 = 2024-01-01
    window = client.ok("/dimensiondata", cId=company["_id"], dimid="logins", **{"from": 19722})
    assert sorted(r["time"][:10] for r in window) == ["2023-12-31", "2024-01-01"]
    one = client.ok("/dimensiondata", cId=company["_id"], dimid="logins", to=19717)
    assert [r["time"][:10] for r in one] == ["2023-12-26"]


def test_push_metrics_then_read_back(client: Client, sandbox: SandboxServer) -> None:
    company = sandbox.records("companies")[7]
    body = [
        {"dimensionId": "seats", "value": 12, "externalId": company["externalId"]},
        {
            "dimensionId": "seats",
            "value": 3.5,
            "externalId": company["externalId"],
            "date": "2024-02-01",
        },
        {"dimensionId": "seats", "value": 1, "externalId": "nobody"},
        {"dimensionId": "seats", "externalId": company["externalId"]},
    ]
    response = _post(sandbox, f"/dimensiondata/{SANDBOX_TENANT_TOKEN}", body)
    assert response.status_code == 200
    result = response.json()
    assert result["processed"] == 2
    assert [e["item"] for e in result["errors"]] == [2, 3]
    rows = client.ok("/dimensiondata", cid=company["_id"], dimid="seats")
    assert sorted(r["value"] for r in rows) == [3.5, 12.0]
    assert all(r["parentId"] == company["_id"] and r["model"] == "Company" for r in rows)
    assert {"2024-02-01T00:00:00.000Z"} <= {r["time"] for r in rows}


def test_push_single_object_for_an_enduser(client: Client, sandbox: SandboxServer) -> None:
    enduser = sandbox.records("endusers")[0]
    body = {
        "dimensionId": "logins",
        "value": 1,
        "externalId": enduser["externalId"],
        "model": "EndUser",
    }
    result = _post(sandbox, f"/dimensiondata/{SANDBOX_TENANT_TOKEN}", body).json()
    assert result == {"processed": 1, "errors": []}
    rows = client.ok("/dimensiondata", cid=enduser["companyId"], dimid="logins")
    assert any(r["parentId"] == enduser["_id"] and r["model"] == "EndUser" for r in rows)


def test_activities_single_and_bulk(sandbox: SandboxServer) -> None:
    single = _post(
        sandbox, f"/analytics/{SANDBOX_TENANT_TOKEN}", {"email": "a@x.io", "action": "login"}
    )
    assert single.status_code == 200
    bulk = _post(
        sandbox,
        f"/analytics/bulk/{SANDBOX_TENANT_TOKEN}",
        [{"email": "b@x.io", "action": "export"}, {"id": "u-1", "action": "view", "count": 3}],
    )
    assert bulk.json()["processed"] == 2
    activities = requests.get(f"{sandbox.url}/_sandbox/activities", timeout=10).json()
    assert [a["action"] for a in activities] == ["login", "export", "view"]
    assert sandbox.activities()[2]["count"] == 3


def test_wrong_or_missing_tenant(sandbox: SandboxServer) -> None:
    assert _post(sandbox, "/analytics/bulk/wrong", []).status_code == 403
    assert _post(sandbox, "/dimensiondata/wrong", []).status_code == 403
    assert _post(sandbox, "/analytics/", {}).status_code in {401, 404}
    assert _post(sandbox, "/dimensiondata", {}).status_code in {401, 404}
    assert sandbox.activities() == []


def test_analytics_is_exempt_from_rate_limit(sandbox_factory) -> None:
    sandbox = sandbox_factory(rate_limit_per_minute=1)
    for _ in range(3):
        assert _post(sandbox, f"/analytics/{SANDBOX_TENANT_TOKEN}", {"email": "x"}).ok


def test_body_over_32_mb_is_413(sandbox: SandboxServer) -> None:
    payload = b"[" + b'{"a":1},' * (4_300_000) + b"{}]"
    assert len(payload) > 32 * 1024 * 1024
    response = requests.post(
        f"{sandbox.url}/analytics/bulk/{SANDBOX_TENANT_TOKEN}",
        data=payload,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 413
    assert sandbox.activities() == []
