"""`meltano run tap-planhat-duckdb target-duckdb`: the README's main job, state across runs.

tap-planhat-duckdb is tap-planhat with ``unions_as_json_text``: target-duckdb cannot store a
field of several JSON types in one column, so those arrive as JSON text (VARCHAR).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import duckdb
import pytest

from planhat_common.registry import readable_models
from tests.meltano.emitted import Emitted

pytestmark = pytest.mark.meltano

DEFAULT_STREAMS = [m.name for m in readable_models() if m.selected_by_default]
INCREMENTAL = {
    m.name: m.replication_key
    for m in readable_models()
    if m.selected_by_default and m.replication_key
}

#: Per stream, (Planhat field, DuckDB column, DuckDB type). target-duckdb lowercases names and
#: (data_flattening_max_level 0) keeps objects such as `custom` as one JSON column; fields of
#: several JSON types (owner: a user id or an object) are JSON text.
TYPED_COLUMNS: dict[str, list[tuple[str, str, str]]] = {
    "companies": [
        ("mrr", "mrr", "DOUBLE"),
        ("renewalDaysFromNow", "renewaldaysfromnow", "DOUBLE"),
        ("phaseSince", "phasesince", "TIMESTAMP"),
        ("updatedAt", "updatedat", "TIMESTAMP"),
        ("custom", "custom", "JSON"),
        ("owner", "owner", "VARCHAR"),
    ],
    "endusers": [
        ("relevance", "relevance", "DOUBLE"),
        ("updatedAt", "updatedat", "TIMESTAMP"),
        ("custom", "custom", "JSON"),
        ("primary", "primary", "VARCHAR"),
    ],
    "licenses": [
        ("value", "value", "DOUBLE"),
        ("autoRenews", "autorenews", "BOOLEAN"),
        ("custom", "custom", "JSON"),
    ],
    "issues": [
        ("mrrCombined", "mrrcombined", "HUGEINT"),  # integer in every source
        ("archived", "archived", "BOOLEAN"),
        ("updatedAt", "updatedat", "TIMESTAMP"),
    ],
}
LOADING = re.compile(r"Loading (\d+) rows into '.*\"(\w+)\"'$")


def table_ids(path: str, table: str, where: str = "") -> set[str]:
    with duckdb.connect(path, read_only=True) as con:
        query = f'select "_id" from tap_planhat."{table}" {where}'  # noqa: S608 - test's own names
        return {row[0] for row in con.execute(query).fetchall()}


def column_types(path: str, table: str) -> dict[str, str]:
    with duckdb.connect(path, read_only=True) as con:
        rows = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'tap_planhat' and table_name = ?",
            [table],
        ).fetchall()
    return dict(rows)


def table_rows(path: str, table: str, columns: list[str]) -> dict[str, dict[str, Any]]:
    select = ", ".join(f'"{c}"' for c in ["_id", *columns])
    with duckdb.connect(path, read_only=True) as con:
        rows = con.execute(f'select {select} from tap_planhat."{table}"').fetchall()  # noqa: S608
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}


def parse_time(value: str) -> dt.datetime:
    """An ISO timestamp as the naive UTC datetime DuckDB's TIMESTAMP holds."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed.astimezone(dt.UTC).replace(tzinfo=None)


def expected_value(emitted: Emitted, stream: str, field: str, record: Any, duck_type: str) -> Any:
    """The sandbox's value as the tap emits it and DuckDB stores it."""
    value = emitted.value(stream, field, record)
    if duck_type == "TIMESTAMP" and value is not None:
        return parse_time(value)
    return value


def stored_value(value: Any, duck_type: str) -> Any:
    return json.loads(value) if duck_type in {"JSON", "VARCHAR"} and value is not None else value


def assert_typed_columns_match(path: str, sandbox: Any) -> None:
    emitted = Emitted(sandbox)
    for stream, spec in TYPED_COLUMNS.items():
        types = column_types(path, stream)
        for _field, column, duck_type in spec:
            assert types.get(column) == duck_type, (stream, column, types.get(column))
        rows = table_rows(path, stream, [column for _f, column, _t in spec])
        records = {r["_id"]: r for r in sandbox.records(stream)}
        assert set(rows) == set(records), stream
        for record_id, record in records.items():
            for field, column, duck_type in spec:
                got = stored_value(rows[record_id][column], duck_type)
                want = expected_value(emitted, stream, field, record, duck_type)
                assert got == want, (stream, record_id, field, got, want)


def assert_custom_fields_queryable(path: str, sandbox: Any) -> None:
    """Custom fields are typed inside the JSON column: SQL can cast them."""
    query = """
        select _id,
               json_extract(custom, '$."Seats Purchased"')::double,
               json_extract(custom, '$."Reference Customer"')::boolean,
               json_extract_string(custom, '$."Kickoff Day"')
        from tap_planhat.companies
    """
    with duckdb.connect(path, read_only=True) as con:
        rows = {r[0]: r[1:] for r in con.execute(query).fetchall()}
    checked = 0
    emitted = Emitted(sandbox)
    for record in sandbox.records("companies"):
        custom = emitted.value("companies", "custom", record) or {}
        assert rows[record["_id"]] == (
            custom.get("Seats Purchased"),
            custom.get("Reference Customer"),
            custom.get("Kickoff Day"),
        ), record["_id"]
        checked += custom.get("Seats Purchased") is not None
    assert checked > 0, "no company has a number custom field to compare"


def run_counts(output: str) -> tuple[dict[str, int], dict[str, int]]:
    """Records extracted (tap record_count metrics) and rows loaded (target-duckdb), by stream.

    ``output`` is a `meltano --log-format json` run's log.
    """
    extracted: dict[str, int] = {}
    loaded: dict[str, int] = {}
    for line in output.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        metric = event.get("metric_info") or {}
        if (
            metric.get("metric") == "record_count"
            and event.get("string_id") == "tap-planhat-duckdb"
        ):
            stream = metric["tags"]["stream"]
            extracted[stream] = extracted.get(stream, 0) + int(metric["value"])
        match = LOADING.search(str(event.get("event", "")))
        if match and event.get("string_id") == "target-duckdb":
            loaded[match[2]] = loaded.get(match[2], 0) + int(match[1])
    return extracted, loaded


def test_every_stream_lands_in_duckdb_and_reruns_are_incremental(
    meltano: Any, sandbox: Any
) -> None:
    path = meltano.env["TARGET_DUCKDB_PATH"]
    meltano("run", "tap-planhat-duckdb", "target-duckdb")
    for stream in DEFAULT_STREAMS:
        expected = {r["_id"] for r in sandbox.records(stream)}
        assert table_ids(path, stream) == expected, stream
    assert_typed_columns_match(path, sandbox)
    assert_custom_fields_queryable(path, sandbox)

    state = json.loads(meltano("state", "get", "dev:tap-planhat-duckdb-to-target-duckdb").stdout)
    bookmarks = state["singer_state"]["bookmarks"]
    assert "companies" in bookmarks
    config = json.loads(meltano("config", "print", "tap-planhat-duckdb").stdout)
    lookback = dt.timedelta(minutes=float(config["lookback_minutes"]))

    # What the second run must re-read: changed records plus the lookback overlap, i.e.
    # records whose key is at most `lookback` older than the bookmark (lookback_minutes).
    overlap: dict[str, set[str]] = {}
    for stream, key in INCREMENTAL.items():
        edge = parse_time(bookmarks[stream]["replication_key_value"]) - lookback
        overlap[stream] = {
            r["_id"] for r in sandbox.records(stream) if r.get(key) and parse_time(r[key]) >= edge
        }
    # The seed spreads companies over ~20 minutes: the window is neither empty nor everything.
    assert 0 < len(overlap["companies"]) < len(sandbox.records("companies"))

    changed = sorted(r["_id"] for r in sandbox.records("companies"))[:2]
    sandbox.touch("companies", changed, {"city": "Reykjavik"})
    sandbox.clear_log()
    second = meltano("--log-format", "json", "run", "tap-planhat-duckdb", "target-duckdb")

    assert table_ids(path, "companies", "where city = 'Reykjavik'") == set(changed)
    company_pages = [
        r for r in sandbox.requests_log() if r["path"] == "/companies" and r["method"] == "GET"
    ]
    assert len(company_pages) == 1, "the second run should stop at the bookmark"

    extracted, loaded = run_counts(second.stdout + second.stderr)
    assert extracted, "no record_count metrics in the second run's log"
    assert extracted["companies"] == len(set(changed) | overlap["companies"])
    for stream in INCREMENTAL:
        if stream != "companies":
            assert extracted.get(stream, 0) == len(overlap[stream]), stream
    # Full-table streams are read whole every run.
    assert extracted["licenses"] == len(sandbox.records("licenses"))
    # target-duckdb loaded what was extracted, as upserts: no duplicate rows.
    for stream, count in extracted.items():
        assert loaded.get(stream, 0) == count, stream
    assert len(table_ids(path, "companies")) == len(sandbox.records("companies"))
    # The changed companies' typed columns follow the new values (updatedAt moved).
    assert_typed_columns_match(path, sandbox)
