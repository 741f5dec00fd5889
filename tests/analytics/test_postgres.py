"""The same dbt package on PostgreSQL (pgserver), over `meltano run tap-planhat target-postgres`.

target-postgres keeps Planhat's camelCase names, stores fields of several JSON types as JSONB
and arrays of strings as ARRAY columns: the staging macros read both. dimension_data is not
selected (the default), so its staging model is built empty from a table that does not exist.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from tests.analytics.conftest import AnalyticsRun, analytics_meltano
from tests.analytics.reference import (
    assert_mrr_monthly_matches,
    expected_mrr_monthly,
    plant_mrr_history,
)
from tests.meltano.emitted import Emitted

if TYPE_CHECKING:
    from pathlib import Path

    from tests.meltano.postgres import Database, Postgres
    from tests.sandbox_fixtures import SandboxServer

pytestmark = pytest.mark.meltano


@dataclass
class Build:
    database: Database
    sandbox: SandboxServer
    today: dt.date
    run: AnalyticsRun


def load_and_build(
    executable: str,
    sandbox: SandboxServer,
    postgres: Postgres,
    directory: Path,
    tap_env: dict[str, str],
) -> Build:
    """`meltano run tap-planhat target-postgres` into a new database, then the dbt build."""
    today = dt.datetime.now(dt.UTC).date()
    database = postgres.database()
    meltano = analytics_meltano(executable, sandbox, directory)
    meltano.env.update(
        {
            **tap_env,
            "TARGET_POSTGRES_SQLALCHEMY_URL": database.target_url,
            "DBT_POSTGRES_HOST": str(postgres.socket_dir),
            "DBT_POSTGRES_USER": "postgres",
            "DBT_POSTGRES_DBNAME": database.name,
        }
    )
    meltano("run", "tap-planhat", "target-postgres")
    meltano("invoke", "dbt-postgres:build", "--vars", f"{{planhat_as_of_date: '{today}'}}")
    return Build(database, sandbox, today, AnalyticsRun.read(meltano))


@pytest.fixture(scope="module")
def build(
    meltano_executable: str,
    analytics_sandbox: SandboxServer,
    postgres: Postgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> Build:
    plant_mrr_history(analytics_sandbox)
    directory = tmp_path_factory.mktemp("pg")
    return load_and_build(meltano_executable, analytics_sandbox, postgres, directory, {})


@pytest.fixture(scope="module")
def flattened(
    build: Build,
    meltano_executable: str,
    postgres: Postgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> Build:
    """The same Planhat loaded with the README's flattening recipe (custom__<field> columns)."""
    directory = tmp_path_factory.mktemp("pg-flat")
    flattening = {"TAP_PLANHAT_FLATTENING_ENABLED": "true", "TAP_PLANHAT_FLATTENING_MAX_DEPTH": "1"}
    return load_and_build(meltano_executable, build.sandbox, postgres, directory, flattening)


def test_every_model_builds_and_every_data_test_passes(build: Build) -> None:
    assert build.run.count("model") >= 30
    assert build.run.count("test") >= 100
    assert build.run.not_passed() == {}


def test_mrr_monthly_matches_the_definition_to_the_cent(build: Build) -> None:
    expected = expected_mrr_monthly(build.sandbox, build.today)
    rows = build.database.query(
        "select company_id, month, mrr, previous_mrr, movement from analytics.mrr_monthly"
    )
    assert_mrr_monthly_matches(rows, expected)
    assert {m.movement for m in expected.values()} >= {"new", "reactivation", "churn"}


def test_company_360_has_one_row_per_company_with_owner_and_custom_fields(build: Build) -> None:
    sandbox = build.sandbox
    rows = build.database.query(
        "select company_id, owner_id, owner_name, custom_seats_purchased, "
        "custom_reference_customer, custom_modules from analytics.company_360"
    )
    assert sorted(r[0] for r in rows) == sorted(c["_id"] for c in sandbox.records("companies"))
    emitted = Emitted(sandbox)
    names = {u["_id"]: u["nickName"] for u in sandbox.records("users")}
    by_id = {r[0]: r[1:] for r in rows}
    for company in sandbox.records("companies"):
        owner, owner_name, seats, reference, modules = by_id[company["_id"]]
        owner_value: Any = emitted.value("companies", "owner", company)
        owner_id = owner_value.get("id") if isinstance(owner_value, dict) else owner_value
        assert (owner, owner_name) == (owner_id, names.get(owner_id))
        custom = emitted.value("companies", "custom", company) or {}
        want_seats = custom.get("Seats Purchased")
        assert (seats, reference, modules) == (
            None if want_seats is None else Decimal(repr(want_seats)),
            custom.get("Reference Customer"),
            custom.get("Modules"),
        )
    types = build.database.column_types("analytics", "company_360")
    assert types["custom_seats_purchased"] == "numeric"
    assert types["custom_reference_customer"] == "boolean"
    assert types["custom_kickoff_day"] == "timestamp without time zone"
    assert types["custom_modules"] == "jsonb"


def test_unselected_stream_gives_empty_models(build: Build) -> None:
    assert build.database.query(
        "select count(*) from information_schema.tables "
        "where table_schema = 'tap_planhat' and table_name = 'dimension_data'"
    ) == [(0,)]
    assert build.database.query("select count(*) from analytics.usage_daily") == [(0,)]


def test_flattened_load_gives_the_same_marts(build: Build, flattened: Build) -> None:
    raw = flattened.database.column_types("tap_planhat", "companies")
    assert "custom" not in raw
    assert raw["custom__Seats Purchased"] == "numeric"
    assert flattened.run.not_passed() == {}
    for mart in ("company_360", "mrr_monthly", "renewals", "owner_book"):
        query = f"select * from analytics.{mart}"  # noqa: S608 - the test's own names
        assert sorted(flattened.database.query(query), key=repr) == sorted(
            build.database.query(query), key=repr
        ), mart
    assert build.database.query(
        "select count(*) from analytics.company_360 where custom_seats_purchased is not null"
    ) != [(0,)]
