"""A real warehouse, both directions: PostgreSQL (pgserver) with the MeltanoLabs plugins.

* ELT: `meltano run tap-planhat target-postgres`, every field typed as the evidence says, from
  the sandbox's real-world-shaped data; then an incremental rerun.
* Reverse ETL: `meltano run tap-postgres target-planhat`, rows of a table keyed into Planhat.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from planhat_common.registry import readable_models
from planhat_common.rescued import RESCUED
from planhat_sandbox.values import UNFIT_TEXT
from tests.meltano.emitted import Emitted

if TYPE_CHECKING:
    from tests.meltano.postgres import Database, Postgres

pytestmark = pytest.mark.meltano

DEFAULT_STREAMS = [m.name for m in readable_models() if m.selected_by_default]
SCHEMA = "tap_planhat"
#: Per stream, (field, Postgres data type): numbers, booleans and timestamps in typed
#: columns; objects, and fields Planhat sends in several JSON types, as JSONB.
TYPED_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "companies": [
        ("mrr", "numeric"),
        ("renewalDaysFromNow", "numeric"),
        ("phaseSince", "timestamp without time zone"),
        ("updatedAt", "timestamp without time zone"),
        ("custom", "jsonb"),
        ("owner", "jsonb"),  # a user id from get-by-id, {id, nickName} from lists
        ("lastActivities", "jsonb"),  # arrays of strings or of objects, or one object
        (RESCUED, "jsonb"),
    ],
    "endusers": [
        ("relevance", "numeric"),
        ("primary", "text"),  # boolean, number or string in the evidence
        ("updatedAt", "timestamp without time zone"),
    ],
    "licenses": [("value", "numeric"), ("autoRenews", "boolean"), ("custom", "jsonb")],
    "issues": [("mrrCombined", "bigint"), ("archived", "boolean")],
}


def _meltano_for(meltano: Any, database: Database) -> Any:
    meltano.env["TARGET_POSTGRES_SQLALCHEMY_URL"] = database.target_url
    meltano.env["TAP_POSTGRES_SQLALCHEMY_URL"] = database.tap_url
    return meltano


def _stored(value: Any, data_type: str) -> Any:
    """A Postgres value as the JSON value the tap emitted."""
    if value is None:
        return None
    if data_type == "numeric":
        return float(value) if value != value.to_integral_value() else int(value)
    if isinstance(value, dt.datetime):
        return value
    return value


def _emitted(value: Any, data_type: str) -> Any:
    if value is None:
        return None
    if data_type.startswith("timestamp"):
        parsed = dt.datetime.fromisoformat(value)
        return parsed.astimezone(dt.UTC).replace(tzinfo=None)
    if data_type == "text" and not isinstance(value, str):
        return json.dumps(value)  # a scalar union in TEXT: the value's text
    if data_type == "numeric":
        return float(value) if Decimal(repr(value)) != int(value) else int(value)
    return value


def assert_stored_as_emitted(database: Database, sandbox: Any) -> None:
    emitted = Emitted(sandbox)
    for stream, columns in TYPED_COLUMNS.items():
        types = database.column_types(SCHEMA, stream)
        for field, data_type in columns:
            assert types.get(field) == data_type, (stream, field, types.get(field))
        names = ", ".join(f'"{field}"' for field, _ in columns)
        rows = database.query(f'select "_id", {names} from {SCHEMA}."{stream}"')  # noqa: S608
        stored = {row[0]: row[1:] for row in rows}
        for record in sandbox.records(stream):
            for (field, data_type), value in zip(columns, stored[record["_id"]], strict=True):
                if field == RESCUED:
                    continue
                want = _emitted(emitted.value(stream, field, record), data_type)
                got = _stored(value, data_type)
                if data_type == "text" and isinstance(got, str) and want is not None:
                    assert got in {want, str(want).lower()}, (stream, field, got, want)
                else:
                    assert got == want, (stream, record["_id"], field, got, want)


def test_elt_lands_every_stream_typed_then_reruns_without_duplicates(
    meltano: Any, sandbox: Any, postgres: Postgres
) -> None:
    database = postgres.database()
    run = _meltano_for(meltano, database)
    unfit = sandbox.records("companies")[5]["_id"]
    sandbox.touch("companies", [unfit], {"h": UNFIT_TEXT})  # fits no declared type
    run("run", "tap-planhat", "target-postgres")

    for stream in DEFAULT_STREAMS:
        rows = database.query(f'select "_id" from {SCHEMA}."{stream}"')  # noqa: S608
        assert sorted(r[0] for r in rows) == sorted(r["_id"] for r in sandbox.records(stream))
    assert_stored_as_emitted(database, sandbox)
    # The value kept in _rescued_data (JSONB), the field itself null.
    rows = database.query(
        f'select h, _rescued_data from {SCHEMA}.companies where "_id" = %s',  # noqa: S608
        unfit,
    )
    assert rows == [(None, {"h": UNFIT_TEXT})]

    changed = sorted(r["_id"] for r in sandbox.records("companies"))[:2]
    sandbox.touch("companies", changed, {"city": "Reykjavik"})
    run("run", "tap-planhat", "target-postgres")
    rows = database.query(f'select "_id", city from {SCHEMA}.companies')  # noqa: S608
    assert len(rows) == len({r[0] for r in rows}) == len(sandbox.records("companies"))
    assert {r[0] for r in rows if r[1] == "Reykjavik"} == set(changed)
    assert_stored_as_emitted(database, sandbox)


def test_elt_with_flattening_gives_custom_fields_typed_columns(
    meltano: Any, sandbox: Any, postgres: Postgres
) -> None:
    database = postgres.database()
    run = _meltano_for(meltano, database)
    run.env["TAP_PLANHAT_FLATTENING_ENABLED"] = "true"
    run.env["TAP_PLANHAT_FLATTENING_MAX_DEPTH"] = "1"
    run("run", "tap-planhat", "target-postgres")

    types = database.column_types(SCHEMA, "companies")
    assert types["custom__Seats Purchased"] == "numeric"
    assert types["custom__Reference Customer"] == "boolean"
    assert types["custom__Kickoff Day"] == "timestamp without time zone"
    assert types["mrr"] == "numeric"
    emitted = Emitted(sandbox)
    rows = database.query(
        f'select "_id", "custom__Seats Purchased" from {SCHEMA}.companies'  # noqa: S608
    )
    stored = dict(rows)
    checked = 0
    for record in sandbox.records("companies"):
        seats = (emitted.value("companies", "custom", record) or {}).get("Seats Purchased")
        assert _stored(stored[record["_id"]], "numeric") == seats, record["_id"]
        checked += seats is not None
    assert checked > 0


def test_reverse_etl_from_a_postgres_table_lands_keyed(
    meltano: Any, sandbox_factory: Any, postgres: Postgres
) -> None:
    planhat = sandbox_factory(records=0)
    meltano.use_sandbox(planhat)
    database = postgres.database()
    database.query(
        'create table companies ("externalId" text primary key, name text, mrr numeric, '
        '"customerFrom" timestamp, segment text)'
    )
    database.query(
        "insert into companies values "
        "('ACME-1', 'Acme', 1200.50, '2024-01-15 00:00:00', 'enterprise'), "
        "('GLOBEX-2', 'Globex', 300, null, 'smb'), "
        "('INITECH-3', 'Initech', null, '2023-06-01 12:00:00', null)"
    )
    database.query(
        'create table endusers ("externalId" text primary key, email text, '
        '"companyExternalId" text)'
    )
    database.query(
        "insert into endusers values ('U-1', 'ann@acme.example', 'ACME-1'), "
        "('U-2', 'bo@globex.example', 'GLOBEX-2')"
    )
    run = _meltano_for(meltano, database)
    first = meltano.summary(run("run", "tap-postgres", "target-planhat"))
    assert first["TOTAL"]["created"] == 5
    assert first["TOTAL"]["rejected"] == 0

    companies = {c["externalId"]: c for c in planhat.records("companies")}
    assert set(companies) == {"ACME-1", "GLOBEX-2", "INITECH-3"}
    assert companies["ACME-1"]["name"] == "Acme"
    assert companies["ACME-1"]["mrr"] == 1200.5
    assert companies["ACME-1"]["customerFrom"].startswith("2024-01-15T00:00:00")
    assert companies["ACME-1"]["custom"] == {"segment": "enterprise"}
    endusers = {e["externalId"]: e for e in planhat.records("endusers")}
    assert endusers["U-1"]["companyId"] == companies["ACME-1"]["_id"]
    assert endusers["U-2"]["companyId"] == companies["GLOBEX-2"]["_id"]

    # Keyed: a rerun of the same rows updates nothing and creates nothing.
    database.query("update companies set name = 'Acme Corp' where \"externalId\" = 'ACME-1'")
    second = meltano.summary(run("run", "tap-postgres", "target-planhat", "--full-refresh"))
    assert second["TOTAL"]["created"] == 0
    assert second["public-companies"]["updated"] == 1  # tap-postgres names it <schema>-<table>
    assert len(planhat.records("companies")) == 3
    assert {c["externalId"]: c["name"] for c in planhat.records("companies")}["ACME-1"] == (
        "Acme Corp"
    )


def test_reverse_etl_from_lower_and_snake_case_columns(
    meltano: Any, sandbox_factory: Any, postgres: Postgres
) -> None:
    planhat = sandbox_factory(records=0)
    meltano.use_sandbox(planhat)
    database = postgres.database()
    # Unquoted names, as most warehouse tables have them: Postgres folds them to lower case.
    database.query(
        "create table companies (externalId text primary key, Name text, MRR numeric, "
        "seats_purchased integer)"
    )
    database.query(
        "insert into companies select 'CO-' || n, 'Company ' || n, n * 100, n "
        "from generate_series(1, 20) as n"
    )
    database.query(
        "create table endusers (external_id text primary key, email text, company_external_id text)"
    )
    database.query(
        "insert into endusers select 'EU-' || n, 'user' || n || '@example.com', 'CO-' || n "
        "from generate_series(1, 5) as n"
    )
    run = _meltano_for(meltano, database)
    results = Path(meltano.env["TARGET_PLANHAT_DEAD_LETTER_PATH"]).with_name("results.jsonl")
    run.env["TARGET_PLANHAT_RESULTS_PATH"] = str(results)
    first = meltano.summary(run("run", "tap-postgres", "target-planhat"))
    assert first["TOTAL"]["created"] == 25
    assert first["TOTAL"]["rejected"] == 0

    companies = {c["externalId"]: c for c in planhat.records("companies")}
    assert companies["CO-3"]["name"] == "Company 3"
    assert companies["CO-3"]["mrr"] == 300
    # The tenant defines the Company custom field "Seats Purchased": the column matches it.
    assert companies["CO-3"]["custom"] == {"Seats Purchased": 3}
    endusers = {e["externalId"]: e for e in planhat.records("endusers")}
    assert endusers["EU-2"]["companyId"] == companies["CO-2"]["_id"]
    assert endusers["EU-2"]["email"] == "user2@example.com"

    # Keyed by the folded columns, and only changed rows are sent: an identical rerun
    # makes no write call at all.
    planhat.clear_log()
    second = meltano.summary(run("run", "tap-postgres", "target-planhat", "--full-refresh"))
    assert second["TOTAL"]["created"] == 0
    assert second["TOTAL"]["unchanged"] == 25
    assert [r for r in planhat.requests_log() if r["method"] != "GET"] == []

    # Three rows change: one small call carries them.
    database.query("update companies set mrr = mrr + 1 where externalid in ('CO-1', 'CO-9')")
    database.query("update endusers set email = 'new@example.com' where external_id = 'EU-4'")
    planhat.clear_log()
    third = meltano.summary(run("run", "tap-postgres", "target-planhat", "--full-refresh"))
    assert third["TOTAL"]["updated"] == 3
    assert third["TOTAL"]["unchanged"] == 22
    puts = [r["path"] for r in planhat.requests_log() if r["method"] == "PUT"]
    assert sorted(puts) == ["/companies", "/endusers"]
    assert {c["externalId"]: c["mrr"] for c in planhat.records("companies")}["CO-9"] == 901
    assert len(planhat.records("companies")) == 20
    assert len(planhat.records("endusers")) == 5

    # The results file: Planhat's _id for every record written, and what each run did.
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    ids = {c["externalId"]: c["_id"] for c in planhat.records("companies")}
    ids |= {e["externalId"]: e["_id"] for e in planhat.records("endusers")}
    written = [line for line in lines if line["outcome"] in {"created", "updated"}]
    assert len(written) == 25 + 3
    assert all(line["planhat_id"] == ids[line["key_value"]] for line in written)
    assert sum(line["outcome"] == "unchanged" for line in lines) == 25 + 22
    assert {line["key_field"] for line in lines} == {"externalId"}
