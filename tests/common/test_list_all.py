"""PlanhatClient.list_all against the sandbox: every record, paged by planhat_common/paging.py."""

from __future__ import annotations

from typing import Any

import pytest

from planhat_common.client import ModelNotFoundError, PlanhatClient
from planhat_common.settings import PlanhatConnection
from tests.sandbox_fixtures import SANDBOX_TOKEN


def client(sandbox: Any) -> PlanhatClient:
    config = {"api_url": sandbox.url, "api_token": SANDBOX_TOKEN, "max_requests_per_minute": 0}
    return PlanhatClient(PlanhatConnection(config))


def listings(sandbox: Any, path: str) -> list[dict[str, str]]:
    return [r["query"] for r in sandbox.requests_log() if r["path"] == path]


def test_a_silently_capped_list_is_read_completely_in_id_order(sandbox_factory: Any) -> None:
    sandbox = sandbox_factory(model_records={"licenses": 250})
    sandbox.set_faults(list_cap=100)
    pages: list[None] = []

    records = list(
        client(sandbox).list_all("/licenses", limit=2000, on_page=lambda: pages.append(None))
    )

    assert [r["_id"] for r in records] == sorted(r["_id"] for r in sandbox.records("licenses"))
    queries = listings(sandbox, "/licenses")
    assert [q["offset"] for q in queries] == ["0", "100", "200"]
    assert {(q["limit"], q["sort"]) for q in queries} == {("2000", "_id")}
    assert len(pages) == 3


def test_select_is_sent_and_a_short_first_page_is_the_only_call(sandbox: Any) -> None:
    records = list(client(sandbox).list_all("/licenses", limit=2000, select="_id"))

    assert {r["_id"] for r in records} == {r["_id"] for r in sandbox.records("licenses")}
    [query] = listings(sandbox, "/licenses")
    assert query["select"] == "_id"


def test_a_model_the_tenant_lacks_raises_model_not_found(sandbox: Any) -> None:
    sandbox.set_faults(missing_models=["/workspaces"])
    with pytest.raises(ModelNotFoundError):
        list(client(sandbox).list_all("/workspaces", limit=2000))
