"""Fault injection and rate limiting, as seen by `requests`."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest
import requests
from sandbox_client import Client

from planhat_sandbox.faults import parse_fault_flag

if TYPE_CHECKING:
    from tests.sandbox_fixtures import SandboxServer


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_status_burst(client: Client, sandbox: SandboxServer, status: int) -> None:
    sandbox.set_faults(status_burst=2, status_code=status)
    assert client.get("/companies").status_code == status
    assert client.get("/endusers").status_code == status
    assert client.get("/companies").status_code == 200
    assert sandbox.faults()["status_burst"] == 0


@pytest.mark.parametrize(
    ("mode", "retry_after", "limit_headers"),
    [("retry_after", "7", True), ("headers", None, True), ("none", None, False)],
)
def test_rate_limit_burst_modes(
    client: Client, sandbox: SandboxServer, mode: str, retry_after, limit_headers
) -> None:
    sandbox.set_faults(rate_limit_burst=1, rate_limit_mode=mode, retry_after=7)
    response = client.get("/companies")
    assert response.status_code == 429
    assert response.headers.get("Retry-After") == retry_after
    assert ("X-Rate-Limit-Remaining" in response.headers) is limit_headers
    assert client.get("/companies").status_code == 200


def test_latency(client: Client, sandbox: SandboxServer) -> None:
    sandbox.set_faults(latency_ms=300)
    started = time.monotonic()
    assert client.get("/companies", limit=1).status_code == 200
    assert time.monotonic() - started >= 0.25


def test_reset_before_response(client: Client, sandbox: SandboxServer) -> None:
    sandbox.set_faults(reset=1, reset_mode="before")
    with pytest.raises(requests.exceptions.ConnectionError):
        client.get("/companies")
    assert client.get("/companies").status_code == 200


def test_reset_mid_response(client: Client, sandbox: SandboxServer) -> None:
    sandbox.set_faults(reset=1, reset_mode="mid")
    with pytest.raises(
        (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)
    ):
        client.get("/companies")
    assert client.get("/companies").status_code == 200
    assert [e["status"] for e in sandbox.requests_log()] == [None, 200]


def test_truncate(client: Client, sandbox: SandboxServer) -> None:
    sandbox.set_faults(truncate=1)
    response = client.get("/companies")
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert isinstance(client.ok("/companies"), list)


def test_error_object(client: Client, sandbox: SandboxServer) -> None:
    sandbox.set_faults(error_object=1)
    assert client.ok("/companies") == {"error": "Something went wrong"}
    assert isinstance(client.ok("/companies"), list)


def test_list_faults_skip_single_record_routes(client: Client, sandbox: SandboxServer) -> None:
    company_id = sandbox.records("companies")[0]["_id"]
    sandbox.set_faults(error_object=1)
    assert client.ok(f"/companies/{company_id}")["_id"] == company_id
    assert client.ok("/companies") == {"error": "Something went wrong"}


def test_list_cap(client: Client, sandbox: SandboxServer) -> None:
    sandbox.set_faults(list_cap=7)
    assert len(client.ok("/companies", limit=100)) == 7
    assert len(client.ok("/companies", limit=3)) == 3


def test_ignore_sort(client: Client, sandbox: SandboxServer) -> None:
    inserted = [r["_id"] for r in sandbox.records("companies")]
    sandbox.set_faults(ignore_sort=True)
    assert [r["_id"] for r in client.ok("/companies", sort="-updatedAt")] == inserted
    sandbox.set_faults()
    assert [r["_id"] for r in client.ok("/companies", sort="-updatedAt")] != inserted


def test_only_paths(client: Client, sandbox: SandboxServer) -> None:
    sandbox.set_faults(status_burst=1, status_code=502, only_paths=["/companies"])
    assert client.get("/endusers").status_code == 200
    assert client.get("/companies").status_code == 502
    assert client.get("/companies").status_code == 200


def test_faults_admin_endpoint(sandbox: SandboxServer, client: Client) -> None:
    url = f"{sandbox.url}/_sandbox/faults"
    config = requests.put(url, json={"status_burst": 1, "status_code": 500}, timeout=10).json()
    assert config["status_burst"] == 1
    assert config["latency_ms"] == 0
    patched = requests.patch(url, json={"latency_ms": 1}, timeout=10).json()
    assert patched["status_burst"] == 1
    assert patched["latency_ms"] == 1
    assert requests.put(url, json={"bogus": 1}, timeout=10).status_code == 400
    assert requests.put(url, json={"status_code": 418}, timeout=10).status_code == 400
    assert client.get("/companies").status_code == 500
    assert requests.get(url, timeout=10).json()["status_burst"] == 0


def test_faults_at_start(sandbox_factory) -> None:
    sandbox = sandbox_factory(faults={"status_burst": 1, "status_code": 504})
    client = Client(sandbox)
    assert client.get("/companies").status_code == 504
    assert client.get("/companies").status_code == 200


def test_rate_limit(sandbox_factory) -> None:
    sandbox = sandbox_factory(rate_limit_per_minute=3)
    client = Client(sandbox)
    first = client.get("/companies")
    assert first.headers["X-Rate-Limit-Limit"] == "3"
    assert first.headers["X-Rate-Limit-Remaining"] == "2"
    client.get("/companies")
    client.get("/companies")
    over = client.get("/companies")
    assert over.status_code == 429
    assert over.headers["X-Rate-Limit-Remaining"] == "0"
    assert over.headers["X-Rate-Limit-Limit"] == "3"
    # admin routes are not rate limited
    assert requests.get(f"{sandbox.url}/_sandbox/health", timeout=10).status_code == 200


def test_rate_limit_window_resets(sandbox_factory) -> None:
    sandbox = sandbox_factory(rate_limit_per_minute=1, rate_limit_window_seconds=0.3)
    client = Client(sandbox)
    assert client.get("/companies").status_code == 200
    assert client.get("/companies").status_code == 429
    time.sleep(0.4)
    assert client.get("/companies").status_code == 200


def test_no_rate_limit_headers_when_off(client: Client) -> None:
    assert "X-Rate-Limit-Limit" not in client.get("/companies").headers


def test_missing_models_answer_404_on_every_route(client: Client, sandbox: SandboxServer) -> None:
    workspace = sandbox.records("workspaces")[0]
    before = sandbox.records("workspaces")
    config = sandbox.set_faults(missing_models=["/workspaces"])
    assert config["missing_models"] == ["/workspaces"]
    responses = {
        "list": client.get("/workspaces"),
        "get": client.get(f"/workspaces/{workspace['_id']}"),
        "create": client.post("/workspaces", {"name": "New"}),
        "bulk": client.put("/workspaces", [{"name": "New"}]),
        "update": client.put(f"/workspaces/{workspace['_id']}", {"name": "Changed"}),
        "delete": client.delete(f"/workspaces/{workspace['_id']}"),
    }
    for route, response in responses.items():
        assert response.status_code == 404, route
        assert "error" in response.json(), route
    assert sandbox.records("workspaces") == before  # no write landed
    # Other models are untouched, and clearing the fault brings the model back.
    assert len(client.ok("/companies")) == 20
    sandbox.set_faults()
    assert len(client.ok("/workspaces")) == len(before)


def test_missing_models_several_and_via_admin_patch(client: Client, sandbox: SandboxServer) -> None:
    url = f"{sandbox.url}/_sandbox/faults"
    patched = requests.patch(url, json={"missing_models": ["/timesheets", "/users"]}, timeout=10)
    assert patched.json()["missing_models"] == ["/timesheets", "/users"]
    assert client.get("/timesheets").status_code == 404
    assert client.get("/users").status_code == 404
    assert client.get("/timeentries").status_code == 200
    # The fault is not counted: it keeps answering 404 and does not decrement.
    assert client.get("/users").status_code == 404
    assert sandbox.faults()["missing_models"] == ["/timesheets", "/users"]
    assert requests.put(url, json={"missing_models": "/users"}, timeout=10).status_code == 400


def test_missing_models_are_logged_as_404(client: Client, sandbox: SandboxServer) -> None:
    sandbox.set_faults(missing_models=["/workspaces"])
    client.get("/workspaces", limit=5)
    assert [(e["path"], e["status"]) for e in sandbox.requests_log()] == [("/workspaces", 404)]


def test_missing_models_fault_from_the_cli_flag() -> None:
    assert parse_fault_flag("missing_models=/workspaces,/users") == (
        "missing_models",
        ["/workspaces", "/users"],
    )
    assert parse_fault_flag("missing_models=") == ("missing_models", None)


def test_opaque_400_field_refuses_the_whole_batch(client: Client, sandbox: SandboxServer) -> None:
    sandbox.set_faults(opaque_400_field="poison")
    before = len(sandbox.records("companies"))
    refused = client.put("/companies", [{"name": "ok"}, {"name": "bad", "poison": 1}])
    assert refused.status_code == 400
    assert set(refused.json()) == {"error"}  # names no item
    assert len(sandbox.records("companies")) == before  # applied nothing
    accepted = client.put("/companies", [{"name": "ok"}])
    assert accepted.status_code == 200
    assert len(sandbox.records("companies")) == before + 1
    with pytest.raises(ValueError, match="opaque_400_field"):
        sandbox.set_faults(opaque_400_field="")


@pytest.mark.parametrize(
    ("shape", "entry_keys", "lists"),
    [
        ("keyables", {"_id", "externalId"}, True),
        ("id_only", {"_id"}, True),
        ("none", None, False),
    ],
)
def test_bulk_keys_shapes_the_written_keys_entries(
    client: Client, sandbox: SandboxServer, shape: str, entry_keys: set[str] | None, lists: bool
) -> None:
    sandbox.set_faults(bulk_keys=shape)
    existing = sandbox.records("companies")[0]["externalId"]
    body = client.put(
        "/companies",
        [{"externalId": "SHAPE-1", "name": "New"}, {"externalId": existing, "name": "Changed"}],
    ).json()
    assert (body["created"], body["updated"]) == (1, 1)  # the counts stay in every shape
    for name in ("insertsKeys", "updatesKeys", "upsertedIds", "modified"):
        assert (name in body) is lists
    if entry_keys is not None:
        assert [set(e) for e in body["insertsKeys"] + body["updatesKeys"]] == [entry_keys] * 2
    with pytest.raises(ValueError, match="bulk_keys"):
        sandbox.set_faults(bulk_keys="some")
