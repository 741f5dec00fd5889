"""`meltano run tap-planhat target-csv` with the tap's flattening on (meltano.yml `target-csv`).

meltanolabs-target-csv writes one column per property of the SCHEMA it is sent and refuses a
record with any other key ("dict contains fields not in fieldnames"), and validates every
record against the SCHEMA: the strictest check there is that flattened records stay within
their SCHEMA. The sandbox serves every shape the evidence shows; two companies also carry
fields no schema declares, at the top level and among custom fields (as Airbyte-shaped data
has them), which must arrive in the `_rescued_data` column.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import pytest

from planhat_common.registry import readable_models
from planhat_common.rescued import CUSTOM, RESCUED
from tap_planhat.tap import TapPlanhat
from tests.meltano.emitted import Emitted
from tests.tap.helpers import tap_config

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.meltano

DEFAULT_STREAMS = [m.name for m in readable_models() if m.selected_by_default]
UNDECLARED = {"brandNewField": {"nested": [1, "two"]}, "createdAtElsewhere": "2024-01-01"}
UNDECLARED_CUSTOM = {"Seats": 12, "Undeclared Note": "kept"}


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def flattened_columns(sandbox: Any, stream: str) -> list[str]:
    """The columns of the SCHEMA the tap sends for ``stream`` with flattening at depth 1."""
    config = tap_config(sandbox, flattening_enabled=True, flattening_max_depth=1)
    tap = TapPlanhat(config=config, parse_env_config=False)
    return list(tap.mapper.stream_maps[stream][0].transformed_schema["properties"])


def plant_undeclared(sandbox: Any) -> list[str]:
    data = sandbox.dump()
    companies = data["collections"]["companies"][:2]
    for company in companies:
        company.update(UNDECLARED)
        custom = company.get(CUSTOM)
        company[CUSTOM] = {**(custom if isinstance(custom, dict) else {}), **UNDECLARED_CUSTOM}
    sandbox.load(data)
    return [c["_id"] for c in companies]


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def test_flattened_streams_land_in_csv_with_their_schema_columns(
    meltano: Any, sandbox: Any, tmp_path: Path
) -> None:
    planted = plant_undeclared(sandbox)
    out = tmp_path / "csv"
    meltano.env.update(
        {
            "TARGET_CSV_OUTPUT_PATH": str(out),
            "TAP_PLANHAT_FLATTENING_ENABLED": "true",
            "TAP_PLANHAT_FLATTENING_MAX_DEPTH": "1",
        }
    )

    meltano("run", "tap-planhat", "target-csv")

    assert sorted(p.stem for p in out.glob("*.csv")) == sorted(DEFAULT_STREAMS)
    for stream in DEFAULT_STREAMS:
        header, rows = read_csv(out / f"{stream}.csv")
        assert sorted(r["_id"] for r in rows) == sorted(r["_id"] for r in sandbox.records(stream))
        assert RESCUED in header, stream

    header, rows = read_csv(out / "companies.csv")
    assert header == flattened_columns(sandbox, "companies")
    # Typed custom fields are columns of their own; open objects one JSON column each.
    assert "custom__Seats Purchased" in header
    assert {"usage", "features", "owner"} <= set(header)
    assert CUSTOM not in header
    assert "custom__Seats" not in header  # undeclared: in _rescued_data
    assert not [c for c in header if c.startswith(("usage__", f"{RESCUED}__"))]

    emitted = Emitted(sandbox)
    by_id = {r["_id"]: r for r in rows}
    for company in sandbox.records("companies"):
        row = by_id[company["_id"]]
        assert row["name"] == (emitted.value("companies", "name", company) or "")
        seats = (emitted.value("companies", CUSTOM, company) or {}).get("Seats Purchased")
        cell = row["custom__Seats Purchased"]
        assert (float(cell) if cell else None) == (None if seats is None else float(seats))
        usage = emitted.value("companies", "usage", company)
        assert (json.loads(row["usage"]) if row["usage"] else None) == usage, company["_id"]
        if company.get("updatedAt"):
            assert instant(row["updatedAt"]) == instant(company["updatedAt"])
        rescued = json.loads(row[RESCUED]) if row[RESCUED] else {}
        if company["_id"] in planted:
            assert {k: rescued[k] for k in UNDECLARED} == UNDECLARED
            assert UNDECLARED_CUSTOM.items() <= rescued[CUSTOM].items()
        else:
            assert not set(UNDECLARED) & set(rescued)
