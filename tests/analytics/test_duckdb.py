"""The dbt package on DuckDB, as the README's main job leaves it.

One module-scoped story: `meltano run tap-planhat-duckdb target-duckdb` (every stream, metrics
included, delete detection on), `meltano invoke dbt-duckdb:build`; then changes in Planhat
(an MRR history planted on a company, a license deleted, a line item changed, metrics pushed
for today), an incremental run and a rebuild. The marts are checked against Python's own
computation from the sandbox's records, and against a build over a fresh full load.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import pytest

from planhat_sandbox.values import SEEDED_TODAY
from tests.analytics.conftest import (
    AnalyticsRun,
    analytics_meltano,
    create_record,
    delete_record,
    push_metrics,
)
from tests.analytics.reference import (
    assert_mrr_monthly_matches,
    expected_mrr_monthly,
    plant_mrr_history,
)
from tests.analytics.test_project import documented_models
from tests.meltano.conftest import ROOT, Meltano
from tests.meltano.emitted import Emitted

if TYPE_CHECKING:
    from pathlib import Path

    from tests.sandbox_fixtures import SandboxServer

pytestmark = pytest.mark.meltano

MARTS = [
    "company_360",
    "mrr_monthly",
    "renewals",
    "nps_monthly",
    "company_activity_monthly",
    "usage_daily",
    "owner_book",
]
#: A custom field name with characters that need quoting in SQL and in JSON paths.
ODD_FIELD = 'Odd "quoted" \\ field\'s.name'
#: The tap's settings for this story: every stream (metrics too), deletes detected.
TAP_ENV = {
    "TAP_PLANHAT_DUCKDB__SELECT": '["*.*"]',
    "TAP_PLANHAT_DUCKDB_DETECT_DELETES": "true",
}


@dataclass
class Story:
    """What the module's runs left behind."""

    meltano: Meltano
    sandbox: SandboxServer
    today: dt.date
    first_build: AnalyticsRun
    incremental_build: AnalyticsRun
    planted_company: str
    deleted_license: str
    after_incremental: dict[str, list[tuple[Any, ...]]]
    after_full_load: dict[str, list[tuple[Any, ...]]]
    final_load: Any

    @property
    def path(self) -> str:
        return self.meltano.env["DBT_DUCKDB_PATH"]

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with duckdb.connect(self.path, read_only=True) as con:
            return con.execute(sql, list(params)).fetchall()


def run_dbt(meltano: Meltano, command: str, today: dt.date) -> AnalyticsRun:
    meltano("invoke", f"dbt-duckdb:{command}", "--vars", f"{{planhat_as_of_date: '{today}'}}")
    return AnalyticsRun.read(meltano)


def snapshot(path: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every mart's rows, sorted."""
    with duckdb.connect(path, read_only=True) as con:
        return {
            mart: sorted(
                con.execute(f"select * from analytics.{mart}").fetchall(),  # noqa: S608
                key=repr,
            )
            for mart in MARTS
        }


@pytest.fixture(scope="module")
def story(
    meltano_executable: str,
    analytics_sandbox: SandboxServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Story:
    sandbox = analytics_sandbox
    today = dt.datetime.now(dt.UTC).date()
    meltano = analytics_meltano(meltano_executable, sandbox, tmp_path_factory.mktemp("duck"))
    meltano.env.update(TAP_ENV)
    odd_company = min(c["_id"] for c in sandbox.records("companies"))
    create_record(
        sandbox, "customfields", {"name": ODD_FIELD, "type": "number", "parent": "Company"}
    )
    sandbox.touch("companies", [odd_company], {"custom": {ODD_FIELD: 42.5}})
    meltano("run", "tap-planhat-duckdb", "target-duckdb")
    first_build = run_dbt(meltano, "build", today)

    # Planhat changes; the next run is incremental (full-table streams are read whole).
    planted = plant_mrr_history(sandbox)
    deleted = max(r["_id"] for r in sandbox.records("licenses"))
    delete_record(sandbox, "licenses", deleted)
    line_item = min(r["_id"] for r in sandbox.records("line_items"))
    sandbox.touch("line_items", [line_item], {"mrr": 123.45, "toDate": None})
    companies = sorted(sandbox.records("companies"), key=lambda c: c["_id"])[:2]
    assert all(c.get("externalId") for c in companies)  # metrics name their company by it
    push_metrics(
        sandbox,
        [
            {"dimensionId": "logins", "value": 7, "externalId": companies[0]["externalId"],
             "date": today.isoformat()},
            {"dimensionId": "logins", "value": 5, "externalId": companies[0]["externalId"],
             "date": (today - dt.timedelta(days=1)).isoformat()},
            {"dimensionId": "api calls", "value": 1000, "externalId": companies[1]["externalId"],
             "date": today.isoformat()},
        ],
    )  # fmt: skip
    meltano("run", "tap-planhat-duckdb", "target-duckdb")
    incremental_build = run_dbt(meltano, "build", today)
    after_incremental = snapshot(meltano.env["DBT_DUCKDB_PATH"])

    # The same Planhat, loaded from scratch into another file, built again.
    fresh = analytics_meltano(meltano_executable, sandbox, tmp_path_factory.mktemp("fresh"))
    fresh.env.update(TAP_ENV)
    fresh("run", "tap-planhat-duckdb", "target-duckdb")
    run_dbt(fresh, "run", today)
    after_full_load = snapshot(fresh.env["DBT_DUCKDB_PATH"])

    # The loader still opens (and loads into) the file dbt wrote.
    sandbox.touch("companies", [companies[0]["_id"]], {"city": "Reykjavik"})
    final_load = meltano("run", "tap-planhat-duckdb", "target-duckdb")
    return Story(
        meltano,
        sandbox,
        today,
        first_build,
        incremental_build,
        planted,
        deleted,
        after_incremental,
        after_full_load,
        final_load,
    )


def test_every_model_builds_and_every_data_test_passes(story: Story) -> None:
    for run in (story.first_build, story.incremental_build):
        assert run.count("model") >= 30
        assert run.count("test") >= 100
        assert run.not_passed() == {}


def test_mrr_monthly_matches_the_definition_to_the_cent(story: Story) -> None:
    expected = expected_mrr_monthly(story.sandbox, story.today)
    rows = story.after_incremental["mrr_monthly"]
    assert_mrr_monthly_matches(rows, expected)
    # The data covers every movement, so every branch of the definition was compared.
    assert {m.movement for m in expected.values()} == {
        "new", "reactivation", "expansion", "contraction", "churn", "unchanged"
    }  # fmt: skip
    # The last month is the current one, measured today.
    months = {r[1] for r in rows}
    assert max(months) == story.today.replace(day=1)
    assert {r[7] for r in rows if r[1] == max(months)} == {story.today}


def test_planted_history_reads_as_planted(story: Story) -> None:
    rows = story.rows(
        "select month, mrr, movement from analytics.mrr_monthly "
        "where company_id = ? and month < date '2023-08-01' order by month",
        story.planted_company,
    )
    assert [(m.month, float(mrr), movement) for m, mrr, movement in rows] == [
        (1, 100.10, "new"),
        (2, 150.15, "expansion"),
        (3, 50.05, "contraction"),
        (4, 50.05, "unchanged"),
        (5, 0.0, "churn"),
        (6, 0.0, "unchanged"),
        (7, 75.5, "reactivation"),
    ]


def test_company_360_has_one_row_per_company(story: Story) -> None:
    ids = [r[0] for r in story.rows("select company_id from analytics.company_360")]
    assert sorted(ids) == sorted(c["_id"] for c in story.sandbox.records("companies"))
    # Current MRR is mrr_monthly's current month.
    current = dict(
        story.rows("select company_id, mrr from analytics.mrr_monthly where is_current_month")
    )
    for company_id, mrr in story.rows("select company_id, current_mrr from analytics.company_360"):
        assert mrr == current.get(company_id, 0), company_id


def test_owners_custom_fields_and_usage_in_company_360(story: Story) -> None:
    sandbox = story.sandbox
    emitted = Emitted(sandbox)
    users = {u["_id"]: u for u in sandbox.records("users")}
    rows = story.rows(
        "select company_id, owner_id, owner_name, owner_email, custom_seats_purchased, "
        "custom_reference_customer, custom_kickoff_day, usage_30d_total, usage_30d_logins "
        "from analytics.company_360"
    )
    by_id = {r[0]: r[1:] for r in rows}
    seats_checked = 0
    for company in sandbox.records("companies"):
        owner, name, email, seats, reference, kickoff, usage, logins = by_id[company["_id"]]
        owner_value = emitted.value("companies", "owner", company)
        owner_id = owner_value.get("id") if isinstance(owner_value, dict) else owner_value
        assert owner == owner_id
        if owner_id in users:
            assert (name, email) == (users[owner_id]["nickName"], users[owner_id]["email"])
        custom = emitted.value("companies", "custom", company) or {}
        assert seats == custom.get("Seats Purchased")
        assert reference == custom.get("Reference Customer")
        day = custom.get("Kickoff Day")
        assert kickoff == (
            dt.datetime.fromisoformat(day).astimezone(dt.UTC).replace(tzinfo=None) if day else None
        )
        seats_checked += seats is not None
        assert (usage, logins) == {
            0: (12.0, 12.0),
            1: (1000.0, None),
        }.get(sorted(by_id).index(company["_id"]), (0, None))
    assert seats_checked > 0
    types = dict(
        story.rows(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'analytics' and table_name = 'company_360'"
        )
    )
    assert types["custom_seats_purchased"] == "DOUBLE"
    assert types["custom_reference_customer"] == "BOOLEAN"
    assert types["custom_kickoff_day"] == "TIMESTAMP"
    assert types["custom_modules"] == "JSON"
    assert types["usage_30d_api_calls"] == "DOUBLE"


def test_deleted_records_are_left_out(story: Story) -> None:
    raw = story.rows(
        "select _sdc_deleted_at is not null from tap_planhat.licenses where _id = ?",
        story.deleted_license,
    )
    assert raw == [(True,)]  # the loader kept it, marked deleted
    staged = story.rows(
        "select count(*) from analytics.stg_planhat__licenses where license_id = ?",
        story.deleted_license,
    )
    assert staged == [(0,)]


def test_epoch_days_become_dates(story: Story) -> None:
    paid = dict(story.rows("select invoice_id, paid_date from analytics.stg_planhat__invoices"))
    checked = 0
    for invoice in story.sandbox.records("invoices"):
        day = invoice.get("paidDate")
        if isinstance(day, int):
            assert paid[invoice["_id"]] == dt.date(1970, 1, 1) + dt.timedelta(days=day)
            checked += 1
    assert checked > 0


def test_rebuild_after_incremental_run_equals_build_over_full_load(story: Story) -> None:
    assert story.after_incremental == story.after_full_load
    assert all(story.after_incremental[mart] for mart in ("company_360", "mrr_monthly"))


def test_target_duckdb_loads_into_the_file_after_dbt(story: Story) -> None:
    assert story.final_load.returncode == 0
    assert story.rows("select count(*) from tap_planhat.companies where city = 'Reykjavik'") == [
        (1,)
    ]
    assert story.rows("select count(*) from analytics.company_360")[0][0] == len(
        story.sandbox.records("companies")
    )


def test_package_builds_without_any_loaded_stream(
    story: Story, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory: Path = tmp_path_factory.mktemp("empty")
    empty = analytics_meltano(story.meltano.executable, story.sandbox, directory)
    duckdb.connect(str(directory / "planhat.duckdb")).close()
    run = run_dbt(empty, "build", story.today)
    assert run.not_passed() == {}
    with duckdb.connect(str(directory / "planhat.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from analytics.company_360").fetchone() == (0,)
        assert con.execute("select count(*) from analytics.mrr_monthly").fetchone() == (0,)


def test_built_columns_are_the_documented_ones(story: Story) -> None:
    """Every column is documented; only the generated custom_ and usage_30d_ ones by pattern."""
    for name, model in documented_models().items():
        documented = [column["name"] for column in model["columns"]]
        built = [
            row[0]
            for row in story.rows(
                "select column_name from information_schema.columns where table_schema = "
                "'analytics' and table_name = ? order by ordinal_position",
                name,
            )
        ]
        generated = [
            c for c in built if c.startswith(("custom_", "usage_30d_")) and c not in documented
        ]
        assert [c for c in built if c not in generated] == documented, name
    assert "custom_seats_purchased" in [c[0] for c in story.rows(
        "select column_name from information_schema.columns "
        "where table_name = 'stg_planhat__companies'"
    )]  # fmt: skip


def test_custom_field_names_with_quotes_become_columns(story: Story) -> None:
    rows = story.rows(
        'select company_id from analytics.company_360 where "custom_odd_quoted_field_s_name" = 42.5'
    )
    assert rows == [(min(c["_id"] for c in story.sandbox.records("companies")),)]


def test_the_demos_headlines_as_of_the_sandboxs_seeded_today(story: Story, tmp_path: Path) -> None:
    # The demo builds the marts as of the day the sandbox's data is seeded around (its
    # contracts end around 2024, so as of today nothing would renew in the next 90 days).
    copy = tmp_path / "planhat.duckdb"
    shutil.copy(story.path, copy)
    env = {
        **story.meltano.env,
        "DBT_DUCKDB_PATH": str(copy),
        "DBT_TARGET_PATH": str(tmp_path / "dbt-target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt-logs"),
    }
    seeded = dt.date.fromisoformat(SEEDED_TODAY)
    run_dbt(Meltano(story.meltano.executable, env), "run", seeded)

    script = ROOT / "scripts" / "analytics_headlines.py"
    shown = subprocess.run(
        [sys.executable, str(script), str(copy), SEEDED_TODAY],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()

    with duckdb.connect(str(copy), read_only=True) as con:
        (renewing,) = con.execute(
            "select count(*) from analytics.renewals where days_until_renewal < 90"
        ).fetchone() or (0,)
    assert renewing > 0
    assert shown[0].strip() == f"As of {SEEDED_TODAY} (planhat_as_of_date)"
    assert any(f"Renewals in the next 90 days: {renewing}," in line for line in shown), shown
    assert any("MRR movements in December 2023" in line for line in shown), shown
