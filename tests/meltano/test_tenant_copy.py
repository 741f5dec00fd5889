"""Tenant copy: tap-planhat from one sandbox, target-planhat into a second, empty one."""

from __future__ import annotations

from typing import Any

import pytest

from planhat_common.registry import get_model

pytestmark = pytest.mark.meltano

PIPELINE = ("run", "tap-planhat-copy-source", "planhat-copy", "target-planhat-copy")
#: What the copy writes: every model tap-planhat selects that target-planhat can write, except
#: custom field definitions (keyed by _id only) and read-only workflows (meltano.yml).
COPIED = (
    "assets", "campaigns", "churn", "companies", "conversations", "endusers", "invoices",
    "issues", "licenses", "nps", "objectives", "opportunities", "projects", "sales", "tasks",
    "tickets", "time_entries", "timesheets", "users", "workspaces",
)  # fmt: skip


def company_key(record: dict[str, Any], field: str | None) -> str | None:
    if field is None:
        return None
    value = record.get(field)
    if isinstance(value, list):
        return value[0] if value else None
    return value or None


def check_copy(source: Any, copy: Any) -> None:
    """Counts match and every child points at the copy of its source company."""
    source_companies = {c["_id"]: c for c in source.records("companies")}
    copy_companies = {c["_id"]: c for c in copy.records("companies")}
    by_source_id = {c["sourceId"]: c for c in copy_companies.values()}
    assert set(by_source_id) == set(source_companies)
    for source_id, company in by_source_id.items():
        assert company["externalId"] == source_companies[source_id]["externalId"]
        assert company["name"] == source_companies[source_id]["name"]
    for model_name in COPIED:
        originals, copies = source.records(model_name), copy.records(model_name)
        assert len(copies) == len(originals), model_name
        field = get_model(model_name).company_field
        if model_name == "companies" or field is None:
            continue
        copies_by_source_id = {r["sourceId"]: r for r in copies}
        for original in originals:
            copied = copies_by_source_id[original["sourceId"]]
            source_company = company_key(original, field)
            if source_company is None:
                assert company_key(copied, field) is None, (model_name, original["sourceId"])
                continue
            copied_company = copy_companies[company_key(copied, field)]
            assert copied_company["sourceId"] == source_company, (model_name, original["_id"])


def test_copy_companies_first_then_everything(meltano: Any, sandbox_factory: Any) -> None:
    source = sandbox_factory(records=20)
    copy = sandbox_factory(records=0)
    meltano.use_sandbox(source)
    meltano.use_copy_sandbox(copy)

    # Companies first (see test_copy_in_one_run), then every stream.
    meltano.env["TAP_PLANHAT_COPY_SOURCE__SELECT"] = '["companies.*"]'
    result = meltano(*PIPELINE)
    assert meltano.summary(result)["companies"]["created"] == 20
    del meltano.env["TAP_PLANHAT_COPY_SOURCE__SELECT"]
    result = meltano(*PIPELINE)
    summary = meltano.summary(result)
    assert summary["TOTAL"]["rejected"] == 0
    assert set(summary) == {*COPIED, "TOTAL"}
    check_copy(source, copy)


@pytest.mark.xfail(
    strict=True,
    reason="target-planhat writes streams in the order they arrive (tap-planhat: alphabetical), "
    "so assets, campaigns and churn are sent before the companies they reference exist in "
    "the copy and are rejected ('companyId srcid-... does not match any company').",
)
def test_copy_in_one_run(meltano: Any, sandbox_factory: Any) -> None:
    source = sandbox_factory(records=20)
    copy = sandbox_factory(records=0)
    meltano.use_sandbox(source)
    meltano.use_copy_sandbox(copy)
    meltano(*PIPELINE)
    check_copy(source, copy)
