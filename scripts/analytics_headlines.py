"""Headline numbers from the analytics marts in a DuckDB file (the end of scripts/demo.py).

Run with the project's Python (it has duckdb): ``.venv/bin/python scripts/analytics_headlines.py
output/planhat.duckdb``. Reads the marts the dbt package builds (analytics/, docs/analytics.md).
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any

import duckdb

SCHEMA = "analytics"
MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")


def money(value: Any) -> str:
    """1234567.891 -> '1,234,567.89'."""
    return f"{Decimal(value or 0):,.2f}"


def headlines(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The lines to print."""
    lines = []
    arr, paying, companies = con.execute(
        f"select sum(current_arr), count(*) filter (where current_mrr <> 0), count(*) "  # noqa: S608
        f"from {SCHEMA}.company_360"
    ).fetchone() or (0, 0, 0)
    lines.append(f"Total ARR: {money(arr)} ({paying} paying of {companies} companies)")

    month = con.execute(
        f"select max(month) from {SCHEMA}.mrr_monthly where not is_current_month"  # noqa: S608
    ).fetchone()
    if month and month[0]:
        rows = {
            movement: (count, change)
            for movement, count, change in con.execute(
                f"select movement, count(*), sum(mrr_change) from {SCHEMA}.mrr_monthly "  # noqa: S608
                "where month = ? group by movement",
                [month[0]],
            ).fetchall()
        }
        parts = [
            f"{m} {rows[m][0]} ({'+' if rows[m][1] >= 0 else ''}{money(rows[m][1])})"
            for m in MOVEMENTS
            if m in rows
        ]
        net = sum((change for _count, change in rows.values()), Decimal(0))
        lines.append(
            f"MRR movements in {month[0]:%B %Y}: {', '.join(parts) or 'none'}; net {money(net)}"
        )
    else:
        lines.append("MRR movements: no MRR history yet")

    count, at_stake = con.execute(
        f"select count(*), sum(mrr_at_stake) from {SCHEMA}.renewals "  # noqa: S608
        "where days_until_renewal < 90"
    ).fetchone() or (0, 0)
    lines.append(f"Renewals in the next 90 days: {count}, MRR at stake {money(at_stake)}")

    lines.append(nps_line(con))
    return lines


def nps_line(con: duckdb.DuckDBPyConnection) -> str:
    """NPS over the last 12 months, else over all time, from nps_monthly."""
    query = (
        f"select sum(responses), sum(promoters), sum(detractors) from {SCHEMA}.nps_monthly "  # noqa: S608
        "where month >= ?"
    )
    for label, since in (
        ("last 12 months", "current_date - interval 12 month"),
        ("all time", "date '0001-01-01'"),
    ):
        start = con.execute(f"select cast({since} as date)").fetchone()
        row = con.execute(query, [start[0] if start else None]).fetchone()
        responses, promoters, detractors = row or (0, 0, 0)
        if responses:
            score = 100 * (promoters - detractors) / responses
            return (
                f"NPS ({label}): {score:.1f} from {responses} responses "
                f"({promoters} promoters, {detractors} detractors)"
            )
    return "NPS: no survey answered with a score of 0-10"


def main() -> None:
    """Print the headlines of the DuckDB file named on the command line."""
    with duckdb.connect(sys.argv[1], read_only=True) as con:
        for line in headlines(con):
            print(f"  {line}")


if __name__ == "__main__":
    main()
