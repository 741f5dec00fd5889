"""MRR history computed in Python from the sandbox's records: the yardstick for mrr_monthly.

Written from the definition (issue 20, docs/analytics.md), not from the SQL: a company's MRR
for a month is the sum of `mrr` over its licenses and over the subscription line items of its
Closed Won deals that are active on the month's last day (today for the current month);
active means fromDate <= day and toDate empty or >= day. Values are those the tap emits
(:class:`Emitted`), in decimal, days are UTC dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests.meltano.emitted import Emitted

CENT = Decimal("0.01")
MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class Item:
    """One recurring revenue item."""

    company_id: str
    mrr: Decimal
    start: dt.date
    end: dt.date | None

    def active_on(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or self.end >= day)


@dataclass(frozen=True)
class Month:
    """One row of mrr_monthly, as expected."""

    mrr: Decimal
    previous_mrr: Decimal
    movement: str


def utc_day(value: Any) -> dt.date | None:
    """The UTC date of an ISO timestamp (None stays None)."""
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(str(value))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC)
    return parsed.date()


def money(value: Any) -> Decimal:
    """A number as the warehouse holds it in numeric(38, 6); null counts as 0."""
    if value is None:
        return Decimal(0)
    return Decimal(repr(value)).quantize(MICRO)


def revenue_items(sandbox: Any) -> list[Item]:
    """Licenses, and subscription line items of Closed Won deals, with their company."""
    emitted = Emitted(sandbox)
    items: list[Item] = []
    for license_ in sandbox.records("licenses"):
        company = emitted.value("licenses", "companyId", license_)
        start = utc_day(emitted.value("licenses", "fromDate", license_))
        if company is not None and start is not None:
            end = utc_day(emitted.value("licenses", "toDate", license_))
            items.append(
                Item(company, money(emitted.value("licenses", "mrr", license_)), start, end)
            )
    deals = {deal["_id"]: deal for deal in sandbox.records("deals")}
    for line_item in sandbox.records("line_items"):
        deal = deals.get(emitted.value("line_items", "dealId", line_item))
        if deal is None or emitted.value("deals", "stage", deal) != "Closed Won":
            continue
        if emitted.value("line_items", "type", line_item) != "subscription":
            continue
        company = emitted.value("deals", "companyId", deal)
        start = utc_day(emitted.value("line_items", "fromDate", line_item))
        if company is not None and start is not None:
            end = utc_day(emitted.value("line_items", "toDate", line_item))
            mrr = money(emitted.value("line_items", "mrr", line_item))
            items.append(Item(company, mrr, start, end))
    return items


def month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    """First days of the months from ``first``'s to ``last``'s."""
    months = []
    month = first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def month_end(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def expected_mrr_monthly(sandbox: Any, today: dt.date) -> dict[tuple[str, dt.date], Month]:
    """(company, month) -> the row mrr_monthly must have."""
    items = revenue_items(sandbox)
    if not items:
        return {}
    months = month_starts(min(i.start for i in items), today)
    by_company: dict[str, list[Item]] = {}
    for item in items:
        by_company.setdefault(item.company_id, []).append(item)
    expected: dict[tuple[str, dt.date], Month] = {}
    for company, own in by_company.items():
        history = []
        for month in months:
            day = min(month_end(month), today)
            history.append((month, sum((i.mrr for i in own if i.active_on(day)), Decimal(0))))
        nonzero = [i for i, (_m, mrr) in enumerate(history) if mrr != 0]
        if not nonzero:
            continue
        previous = Decimal(0)
        for index, (month, mrr) in enumerate(history[nonzero[0] :]):
            expected[company, month] = Month(mrr, previous, _movement(index, previous, mrr))
            previous = mrr
    return expected


def _movement(index: int, previous: Decimal, mrr: Decimal) -> str:
    if mrr != 0 and previous == 0:
        return "new" if index == 0 else "reactivation"
    if mrr == 0 and previous != 0:
        return "churn"
    if mrr > previous:
        return "expansion"
    if mrr < previous:
        return "contraction"
    return "unchanged"


def plant_mrr_history(sandbox: Any) -> str:
    """Give one company (with no other revenue) licenses that make every kind of month.

    2023: January new, February expansion, March contraction, April unchanged, May churn,
    then July reactivation (running until further notice). Returns the company's _id.
    """
    licensed = {r.get("companyId") for r in sandbox.records("licenses")}
    dealt = {r.get("companyId") for r in sandbox.records("deals")}
    free = sorted(
        c["_id"] for c in sandbox.records("companies") if c["_id"] not in licensed | dealt
    )
    assert free, "no company without licenses and deals to plant a history on"
    company = free[0]
    licenses = sorted(r["_id"] for r in sandbox.records("licenses"))[:3]
    plans: list[dict[str, Any]] = [
        {"fromDate": "2023-01-10T00:00:00Z", "toDate": "2023-03-15T00:00:00Z", "mrr": 100.1},
        {"fromDate": "2023-02-01T00:00:00Z", "toDate": "2023-04-30T23:00:00Z", "mrr": 50.05},
        {"fromDate": "2023-07-01T00:00:00Z", "toDate": None, "mrr": 75.5},
    ]
    for license_id, plan in zip(licenses, plans, strict=True):
        sandbox.touch("licenses", [license_id], {"companyId": company, **plan})
    return company


def assert_mrr_monthly_matches(rows: Any, expected: dict[tuple[str, dt.date], Month]) -> None:
    """``(company_id, month, mrr, previous_mrr, movement)`` rows equal ``expected`` to the cent."""
    got = {(r[0], r[1]): r[2:5] for r in rows}
    assert set(got) == set(expected)
    for key, want in expected.items():
        mrr, previous, movement = got[key]
        assert (Decimal(mrr).quantize(CENT), Decimal(previous).quantize(CENT), movement) == (
            want.mrr.quantize(CENT),
            want.previous_mrr.quantize(CENT),
            want.movement,
        ), key
