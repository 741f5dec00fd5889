"""Stream maps on tap-planhat (meltano.yml `tap-planhat-customers`) landing in target-jsonl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.meltano


def read_jsonl(directory: Path, stream: str) -> list[dict[str, Any]]:
    records = []
    for path in sorted(directory.glob(f"{stream}*.jsonl")):
        records += [json.loads(line) for line in path.read_text().splitlines()]
    return records


def test_renamed_filtered_stream_with_dropped_and_derived_fields(
    meltano: Any, sandbox: Any
) -> None:
    meltano("run", "tap-planhat-customers", "target-jsonl")
    out = Path(meltano.env["TARGET_JSONL_DESTINATION_PATH"])

    assert {p.name.split("-")[0] for p in out.glob("*.jsonl")} == {"customers"}
    customers = {r["_id"]: r for r in read_jsonl(out, "customers")}
    expected = {c["_id"]: c for c in sandbox.records("companies") if c.get("status") == "customer"}
    assert expected, "the seed should have paying customers"
    assert len(expected) < len(sandbox.records("companies")), "the filter should drop some"
    assert set(customers) == set(expected)
    for company_id, customer in customers.items():
        source = expected[company_id]
        assert customer["name"] == source["name"]
        assert customer["arr_estimate"] == pytest.approx(float(source.get("mrr") or 0) * 12)
        for dropped in ("description", "usage", "lastActivities"):
            assert dropped not in customer
