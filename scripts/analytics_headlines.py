"""Headline numbers from the analytics marts in a DuckDB file (the end of scripts/demo.py).

Run with the project's Python (it has duckdb): ``.venv/bin/python scripts/analytics_headlines.py
output/planhat.duckdb [YYYY-MM-DD]``. Reads the marts the dbt package builds (analytics/,
docs/analytics.md); the date is the one they were built as of (var ``planhat_as_of_date``),
else today.
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from typing import Any

import duckdb

SCHEMA = "analytics"
MOVEMENTS = ("new", "reactivation", "expansion", "contraction", "churn")


def money(value: Any) -> str:
    """1234567.891 -> '1,234,567.89'."""
    return f"{Decimal(value or 0):,.2f}"


def headlines(con: duckdb.DuckDBPyConnection, as_of: dt.date | None = None) -> list[str]:
    """The lines to print, for marts built as of ``as_of`` (None: today, UTC)."""
    today = as_of or dt.datetime.now(dt.UTC).date()
    lines = [f"As of {today.isoformat()}" + ("" if as_of is None else " (planhat_as_of_date)")]
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

    lines.append(nps_line(con, today))
    return lines


def nps_line(con: duckdb.DuckDBPyConnection, today: dt.date) -> str:
    """NPS over the 12 months before ``today``, else over all time, from nps_monthly."""
    query = (
        f"select sum(responses), sum(promoters), sum(detractors) from {SCHEMA}.nps_monthly "  # noqa: S608
        "where month >= ? and month <= ?"
    )
    # The 12 months up to and including today's (months are their first day).
    back = today.year * 12 + today.month - 1 - 11
    year_before = dt.date(back // 12, back % 12 + 1, 1)
    for label, since in (("last 12 months", year_before), ("all time", dt.date(1, 1, 1))):
        row = con.execute(query, [since, today]).fetchone()
        responses, promoters, detractors = row or (0, 0, 0)
        if responses:
            score = 100 * (promoters - detractors) / responses
            return (
                f"NPS ({label}): {score:.1f} from {responses} responses "
                f"({promoters} promoters, {detractors} detractors)"
            )
    return "NPS: no survey answered with a score of 0-10"


def main() -> None:
    """Print the headlines of the DuckDB file named on the command line (and its as-of date)."""
    as_of = dt.date.fromisoformat(sys.argv[2]) if len(sys.argv) > 2 else None  # noqa: PLR2004
    with duckdb.connect(sys.argv[1], read_only=True) as con:
        for line in headlines(con, as_of):
            print(f"  {line}")


if __name__ == "__main__":
    main()
