"""Listing: every model, page caps, default limit, offset, sort, select and filters."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import pytest
from sandbox_client import Client

from planhat_common.registry import DEFAULT_PAGE_CAP, MODELS, get_model
from planhat_sandbox.store import sort_key
from tests.sandbox_fixtures import SandboxServer

if TYPE_CHECKING:
    from collections.abc import Iterator

LISTED = [m for m in MODELS if m.path and m.readable]


@pytest.mark.parametrize("model", LISTED, ids=lambda m: m.name)
def test_every_model_with_a_path_lists(client: Client, model) -> None:
    page = client.ok(model.path, limit=5)
    assert isinstance(page, list)
    assert len(page) == 5
    assert all(isinstance(r["_id"], str) and len(r["_id"]) == 24 for r in page)


@pytest.fixture(scope="module")
def big() -> Iterator[Client]:
    server = SandboxServer(
        token="big", records=3, model_records={"companies": 5100, "endusers": 2100}
    ).start()
    yield Client(server, token="big")
    server.stop()


def test_companies_page_cap_is_5000(big: Client) -> None:
    cap = get_model("companies").page_cap
    assert cap == 5000
    assert len(big.ok("/companies", limit=10_000)) == cap


def test_other_models_cap_at_2000(big: Client) -> None:
    assert len(big.ok("/endusers", limit=10_000)) == DEFAULT_PAGE_CAP


def test_default_limit_is_100(big: Client) -> None:
    assert len(big.ok("/companies")) == 100


def test_paging_with_offset_covers_everything_once(big: Client) -> None:
    ids: list[str] = []
    offset = 0
    while True:
        page = big.ok("/companies", limit=2000, offset=offset, sort="_id", select="_id")
        if not page:
            break
        ids += [r["_id"] for r in page]
        offset += len(page)
    assert len(ids) == 5100
    assert len(set(ids)) == 5100
    assert ids == sorted(ids)


def test_offset_skips_records(client: Client) -> None:
    all_ids = [r["_id"] for r in client.ok("/companies", sort="_id")]
    assert [r["_id"] for r in client.ok("/companies", sort="_id", offset=5, limit=3)] == all_ids[
        5:8
    ]


@pytest.mark.parametrize("field", ["updatedAt", "name", "mrr", "_id", "lastTouch"])
def test_sort_ascending_and_descending(client: Client, field: str) -> None:
    asc = client.ok("/companies", sort=field, limit=100)
    desc = client.ok("/companies", sort=f"-{field}", limit=100)
    present = [r[field] for r in asc if r.get(field) is not None]
    # Values of several JSON types (a number spelled as a string) sort by type, then value.
    assert present == sorted(present, key=sort_key)
    in_desc = [r[field] for r in desc if r.get(field) is not None]
    assert in_desc == sorted(present, key=sort_key, reverse=True)
    # missing values first ascending
    missing = [i for i, r in enumerate(asc) if r.get(field) is None]
    assert missing == list(range(len(missing)))


def test_sort_minus_updated_at_is_not_id_order(client: Client) -> None:
    page = client.ok("/companies", sort="-updatedAt")
    stamps = [r["updatedAt"] for r in page]
    assert stamps == sorted(stamps, reverse=True)
    assert len(set(stamps)) == len(stamps)
    assert [r["_id"] for r in page] != sorted(r["_id"] for r in page)


def test_sort_ties_break_by_id(client: Client) -> None:
    page = client.ok("/companies", sort="status")
    for a, b in itertools.pairwise(page):
        if a.get("status") == b.get("status"):
            assert a["_id"] < b["_id"]


def test_select_keeps_id(client: Client) -> None:
    page = client.ok("/companies", select="name,externalId")
    assert page
    assert all(set(r) <= {"_id", "name", "externalId"} and "_id" in r for r in page)


def test_list_renders_user_refs_as_objects_get_as_ids(client: Client) -> None:
    listed = next(r for r in client.ok("/companies") if isinstance(r.get("owner"), dict))
    assert set(listed["owner"]) == {"id", "nickName"}
    one = client.ok(f"/companies/{listed['_id']}")
    assert one["owner"] == listed["owner"]["id"]


@pytest.mark.parametrize("name", ["endusers", "invoices", "nps", "issues", "assets"])
def test_company_filter_uses_the_models_company_field(
    client: Client, sandbox: SandboxServer, name: str
) -> None:
    model = get_model(name)
    field = model.company_field
    assert field
    records = sandbox.records(name)
    target = next(r[field] for r in records if r.get(field))
    company_id = target[0] if isinstance(target, list) else target
    page = client.ok(model.path, companyId=company_id)
    assert page
    for record in page:
        value = record[field]
        assert company_id in value if isinstance(value, list) else value == company_id
    expected = [
        r["_id"]
        for r in records
        if (
            company_id in r[field] if isinstance(r.get(field), list) else r.get(field) == company_id
        )
    ]
    assert sorted(r["_id"] for r in page) == sorted(expected)


def test_company_filter_takes_comma_separated_ids(client: Client, sandbox: SandboxServer) -> None:
    ids = sorted({r["companyId"] for r in sandbox.records("endusers")})[:2]
    page = client.ok("/endusers", companyId=",".join(ids), limit=2000)
    assert {r["companyId"] for r in page} == set(ids)


def test_conversation_type_filter(client: Client) -> None:
    page = client.ok("/conversations", type="note")
    assert page
    assert all(r["type"] == "note" for r in page)
    assert len(page) < len(client.ok("/conversations"))


def test_bad_limit_is_400(client: Client) -> None:
    assert client.get("/companies", limit="many").status_code == 400
