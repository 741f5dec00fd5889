"""Reverse ETL: `meltano run tap-spreadsheets target-planhat` with the CSV files in samples/."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.meltano

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "reverse_etl"
STREAMS = ("companies", "endusers", "licenses")


def rows(name: str, directory: Path = SAMPLES) -> list[dict[str, str]]:
    with (directory / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def by_external_id(sandbox: Any, model: str) -> dict[str, dict[str, Any]]:
    records = [r for r in sandbox.records(model) if r.get("externalId")]
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        assert record["externalId"] not in found, f"duplicate {model} {record['externalId']}"
        found[record["externalId"]] = record
    return found


def files_setting(directory: Path) -> str:
    """TAP_SPREADSHEETS_FILES for CSV files in ``directory`` (as meltano.yml, other paths)."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    tap = next(p for p in project["plugins"]["extractors"] if p["name"] == "tap-spreadsheets")
    files = tap["config"]["files"]
    for entry in files:
        entry["path"] = str(directory / Path(entry["path"]).name)
    return json.dumps(files)


def test_csv_rows_land_keyed_linked_and_reruns_are_idempotent(meltano: Any, sandbox: Any) -> None:
    before = {model: len(sandbox.records(model)) for model in STREAMS}
    result = meltano("run", "tap-spreadsheets", "target-planhat")
    summary = meltano.summary(result)
    assert summary["TOTAL"]["created"] == 22
    assert summary["TOTAL"]["rejected"] == 0

    companies = by_external_id(sandbox, "companies")
    endusers = by_external_id(sandbox, "endusers")
    licenses = by_external_id(sandbox, "licenses")
    for row in rows("companies"):
        company = companies[row["external_id"]]
        assert company["name"] == row["name"]
        assert company["mrr"] == pytest.approx(float(row["mrr"]))  # typed by schema_overrides
        assert company["custom"]["segment"] == row["segment"]  # unknown column -> custom
    for row in rows("endusers"):
        enduser = endusers[row["external_id"]]
        assert enduser["email"] == row["email"]
        assert enduser["firstName"] == row["first_name"]
        assert enduser["companyId"] == companies[row["company_external_id"]]["_id"]
    for row in rows("licenses"):
        lic = licenses[row["external_id"]]
        assert lic["companyId"] == companies[row["company_external_id"]]["_id"]
        assert lic["_currency"] == row["currency"]
        assert lic["value"] == pytest.approx(float(row["value"]))
        assert lic["autoRenews"] is (row["auto_renews"] == "true")
    after = {model: len(sandbox.records(model)) for model in STREAMS}
    assert after == {m: before[m] + len(rows(m)) for m in STREAMS}

    # Same files again: tap-spreadsheets' bookmark (file mtime) skips them...
    result = meltano("run", "tap-spreadsheets", "target-planhat")
    assert meltano.summary(result)["TOTAL"]["received"] == 0
    # ...and a full refresh re-sends every row, which changes nothing.
    result = meltano("run", "--full-refresh", "tap-spreadsheets", "target-planhat")
    total = meltano.summary(result)["TOTAL"]
    assert (total["received"], total["unchanged"], total["created"]) == (22, 22, 0)
    assert {model: len(sandbox.records(model)) for model in STREAMS} == after
    assert by_external_id(sandbox, "endusers") == endusers


def test_rejected_rows_go_to_the_dead_letter_file(
    meltano: Any, sandbox: Any, tmp_path: Path
) -> None:
    data = tmp_path / "csv"
    shutil.copytree(SAMPLES, data)
    with (data / "endusers.csv").open("a") as handle:
        handle.write("U-9001,ghost@nowhere.example,Ghost,User,None,NO-SUCH-COMPANY\n")
    with (data / "licenses.csv").open("a") as handle:  # no currency: cannot be created
        handle.write("L-NOPE-1,ACME-001,Platform,,2025-01-01T00:00:00Z,,100,false\n")
    meltano.env["TAP_SPREADSHEETS_FILES"] = files_setting(data)
    dead_letter = Path(meltano.env["TARGET_PLANHAT_DEAD_LETTER_PATH"])

    result = meltano("run", "tap-spreadsheets", "target-planhat", check=False)
    assert result.returncode != 0, "max_rejected=0: two rejections fail the run"
    assert "2 record(s) were rejected" in result.stdout + result.stderr
    letters = [json.loads(line) for line in dead_letter.read_text().splitlines()]
    reasons = {(d["stream"], d["key"]): d["reason"] for d in letters}
    assert "NO-SUCH-COMPANY" in reasons["endusers", "externalId=U-9001"]
    assert "_currency" in reasons["licenses", "externalId=L-NOPE-1"]
    # The dead letter keeps each record as it came (tap-spreadsheets' snake_case columns).
    assert {d["record"]["external_id"] for d in letters} == {"U-9001", "L-NOPE-1"}
    # Everything else was written.
    assert set(by_external_id(sandbox, "endusers")) >= {r["external_id"] for r in rows("endusers")}

    meltano.env["TARGET_PLANHAT_MAX_REJECTED"] = "2"
    result = meltano("run", "--full-refresh", "tap-spreadsheets", "target-planhat")
    summary = meltano.summary(result)
    assert summary["endusers"]["rejected"] == 1
    assert summary["licenses"]["rejected"] == 1
    assert summary["TOTAL"]["unchanged"] == 22


STATE_ID = "dev:tap-spreadsheets-to-target-planhat"


def test_a_dry_run_keeps_the_bookmark_so_the_next_run_loads_everything(
    meltano: Any, sandbox: Any
) -> None:
    before = {model: len(sandbox.records(model)) for model in STREAMS}
    meltano.env["TARGET_PLANHAT_BATCH_SIZE_ROWS"] = "4"
    meltano.env["TARGET_PLANHAT_DRY_RUN"] = "true"
    result = meltano("run", "tap-spreadsheets", "target-planhat")
    log = result.stdout + result.stderr
    total = meltano.summary(result)["TOTAL"]
    assert (total["received"], total["created"]) == (22, 22)  # the forecast
    assert {model: len(sandbox.records(model)) for model in STREAMS} == before
    # Meltano saved nothing: no STATE came out of the target.
    assert STATE_ID not in meltano("state", "list").stdout
    assert "Dry run: the input's STATE is not passed on" in log
    # One progress line per batch of 4 (6 companies: two batches), and no SDK "is full" line.
    assert "Stream 'companies' (dry run): 4 records done: 4 to create" in log
    assert "Stream 'companies' (dry run): 6 records done: 6 to create" in log
    assert "is full" not in log

    # The real run reads every file the dry run read, and loads every row.
    del meltano.env["TARGET_PLANHAT_DRY_RUN"]
    result = meltano("run", "tap-spreadsheets", "target-planhat")
    total = meltano.summary(result)["TOTAL"]
    assert (total["received"], total["created"], total["rejected"]) == (22, 22, 0)
    assert {model: len(sandbox.records(model)) for model in STREAMS} == {
        model: before[model] + len(rows(model)) for model in STREAMS
    }
    log = result.stdout + result.stderr
    assert "Stream 'companies': 4 records done: 4 created, 0 updated, 0 unchanged" in log
    assert STATE_ID in meltano("state", "list").stdout
