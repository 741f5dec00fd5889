"""Deals and line items from CSV into Planhat (the sandbox), and back out with the same totals.

`meltano run tap-spreadsheets target-planhat` with two CSV files as a warehouse would export
them (snake_case columns, the deal named by its external id), then
`meltano run tap-planhat target-jsonl` reading deals and line items back.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.meltano

DEALS = [
    {"external_id": "D-100", "name": "New business", "company_external_id": "COMPANY-000001"},
    {"external_id": "D-200", "name": "Upsell", "company_external_id": "COMPANY-000002"},
]
LINE_ITEMS = [
    {"external_id": "L-101", "deal_external_id": "D-100", "type": "subscription", "mrr": "120.5"},
    {"external_id": "L-102", "deal_external_id": "D-100", "type": "subscription", "mrr": "79.5"},
    {"external_id": "L-201", "deal_external_id": "D-200", "type": "subscription", "mrr": "300"},
    {"external_id": "L-202", "deal_external_id": "D-200", "type": "fee", "mrr": ""},
]


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _files_setting(directory: Path) -> str:
    number = {"type": ["number", "null"]}
    return json.dumps(
        [
            {
                "path": str(directory / "deals.csv"),
                "format": "csv",
                "table_name": "deals",
                "primary_keys": ["external_id"],
            },
            {
                "path": str(directory / "line_items.csv"),
                "format": "csv",
                "table_name": "line_items",
                "primary_keys": ["external_id"],
                "schema_overrides": {"mrr": number},
            },
        ]
    )


def _read_jsonl(directory: Path, stream: str) -> list[dict[str, Any]]:
    records = []
    for path in sorted(directory.glob(f"{stream}*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines() if line]
    return records


def test_deals_and_line_items_round_trip_with_the_same_totals(
    meltano: Any, sandbox: Any, tmp_path: Path
) -> None:
    data = tmp_path / "csv"
    data.mkdir()
    _write_csv(data / "deals.csv", DEALS)
    _write_csv(data / "line_items.csv", LINE_ITEMS)
    meltano.env["TAP_SPREADSHEETS_FILES"] = _files_setting(data)

    loaded = meltano.summary(meltano("run", "tap-spreadsheets", "target-planhat"))
    assert loaded["TOTAL"]["rejected"] == 0
    assert loaded["TOTAL"]["created"] == len(DEALS) + len(LINE_ITEMS)

    meltano.env["TAP_PLANHAT__SELECT"] = json.dumps(["deals.*", "line_items.*"])
    meltano("run", "tap-planhat", "target-jsonl")
    out = Path(meltano.env["TARGET_JSONL_DESTINATION_PATH"])
    deals = {d["externalId"]: d for d in _read_jsonl(out, "deals") if d.get("externalId")}
    items = {i["externalId"]: i for i in _read_jsonl(out, "line_items") if i.get("externalId")}
    companies = {c["externalId"]: c["_id"] for c in sandbox.records("companies")}

    csv_total = sum(float(row["mrr"] or 0) for row in LINE_ITEMS)
    read_total = sum(items[row["external_id"]].get("mrr") or 0 for row in LINE_ITEMS)
    assert read_total == pytest.approx(csv_total)
    for row in DEALS:
        deal = deals[row["external_id"]]
        assert deal["companyId"] == companies[row["company_external_id"]]
        expected = sum(
            float(r["mrr"] or 0) for r in LINE_ITEMS if r["deal_external_id"] == row["external_id"]
        )
        # Planhat rolls a deal's revenue up from its line items.
        assert deal["mrr"] == pytest.approx(expected)
        assert deal["arr"] == pytest.approx(expected * 12)
    for row in LINE_ITEMS:
        item = items[row["external_id"]]
        deal = deals[row["deal_external_id"]]
        assert item["dealId"] == deal["_id"]
        assert item["companyId"] == deal["companyId"]

    # Every row again: everything matches by key, nothing is created.
    again = meltano.summary(meltano("run", "--full-refresh", "tap-spreadsheets", "target-planhat"))
    assert again["TOTAL"]["created"] == 0
    assert again["TOTAL"]["rejected"] == 0
