"""Seed values that make the revenue models hang together (see revenue.py for the rules).

Products are the catalog: subscriptions (fixed-period or evergreen) and fees. Every line item
sits on a seeded deal (so on that deal's company), mostly comes from a seeded product and
follows the line item page's rules: a fixed-period subscription has ``fromDate``, ``toDate``,
``length`` and ``mrr``/``arr``/``value``; an evergreen one ``fromDate`` and ``mrr``/``arr``;
a fee ``fromDate`` and ``value``. Deals then take their revenue and dates from their line items.
Other fields keep the generated values, loose spellings included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planhat_sandbox.revenue import FEE, MONTHS_PER_YEAR, Revenue
from planhat_sandbox.store import iso_ms
from planhat_sandbox.values import BASE_MS, DAY_MS, YEAR_MS, below, pick

if TYPE_CHECKING:
    import random

    from planhat_common.registry import Model
    from planhat_sandbox.store import Record, Store

SUBSCRIPTION = "subscription"
LENGTHS = (12, 24, 36)
#: Share of line items made without a product (the product is optional).
NO_PRODUCT_SHARE = 0.2
MONTH_MS = YEAR_MS // MONTHS_PER_YEAR


def _kind(rng: random.Random) -> tuple[str, bool]:
    """``(type, fixedPeriod)``: half fixed subscriptions, a quarter evergreen, a quarter fees."""
    roll = rng.random()
    if roll < 0.5:  # noqa: PLR2004 - shares
        return SUBSCRIPTION, True
    if roll < 0.75:  # noqa: PLR2004
        return SUBSCRIPTION, False
    return FEE, False


def _term_start(rng: random.Random) -> int:
    """A contract's first day: midnight of a day in the two years before the seeded today."""
    return BASE_MS - below(rng, 2 * YEAR_MS) // DAY_MS * DAY_MS


def _terms(rng: random.Random, kind: str, fixed: bool, mrr: float) -> dict[str, Any]:
    """Revenue fields for one kind, with every other revenue field cleared."""
    start_ms = _term_start(rng)
    terms: dict[str, Any] = {"type": kind, "fixedPeriod": fixed, "fromDate": iso_ms(start_ms)}
    if kind == FEE:
        return {**terms, "value": float(1000 + below(rng, 9000)), "mrr": None, "arr": None}
    terms.update(mrr=mrr, arr=mrr * MONTHS_PER_YEAR)
    if fixed:
        length = pick(rng, LENGTHS)
        terms.update(length=length, toDate=iso_ms(start_ms + length * MONTH_MS))
        terms["value"] = mrr * length
    else:
        terms.update(length=None, toDate=None, value=None)
    return terms


#: Share of licenses without an end (evergreen), renewing every year from their start.
EVERGREEN_LICENSE_SHARE = 0.25


def finish_license(rng: random.Random, record: Record) -> None:
    """A license's term around the seeded today, so some renew in the months after it.

    It starts in the two years before, and runs 12, 24 or 36 months (``toDate``, also its
    ``renewalDate``), or has no end and renews on each anniversary of its start (the next
    one after the seeded today is its ``renewalDate``).
    """
    start_ms = _term_start(rng)
    record["fromDate"] = iso_ms(start_ms)
    if rng.random() < EVERGREEN_LICENSE_SHARE:
        renews_ms = start_ms
        while renews_ms < BASE_MS:
            renews_ms += YEAR_MS
        record.update(fixedPeriod=False, length=None, toDate=None)
    else:
        length = pick(rng, LENGTHS)
        renews_ms = start_ms + length * MONTH_MS
        # A license's length is a number in the evidence (a line item's an integer).
        record.update(fixedPeriod=True, length=float(length), toDate=iso_ms(renews_ms))
    record["renewalDate"] = iso_ms(renews_ms)
    record["renewalDaysFromNow"] = (renews_ms - BASE_MS) // DAY_MS


def finish_product(rng: random.Random, record: Record) -> None:
    """A catalog entry: a subscription with a default MRR, or a fee with a default value."""
    kind, fixed = _kind(rng)
    record.update(type=kind, fixedPeriod=fixed)
    if kind == FEE:
        record.update(value=float(500 + below(rng, 5000)), mrr=None, arr=None)
    else:
        mrr = float(50 + below(rng, 950))
        record.update(mrr=mrr, arr=mrr * MONTHS_PER_YEAR, renewalMrr=mrr)
        record["renewalArr"] = mrr * MONTHS_PER_YEAR
        length = pick(rng, LENGTHS) if fixed else None
        record.update(length=length, value=mrr * length if length else None)


def finish_line_item(
    rng: random.Random, model: Model, record: Record, deals: list[Record], products: list[Record]
) -> None:
    """Put a line item on a deal (and its company), from a product or not, with its terms."""
    deal = pick(rng, deals)
    record["dealId"] = deal["_id"]
    company_field = model.company_field
    if company_field:
        record[company_field] = deal.get(company_field)
    product = pick(rng, products) if products and rng.random() >= NO_PRODUCT_SHARE else None
    if product is None:
        record["productId"] = None
        kind, fixed = _kind(rng)
        mrr = float(20 + below(rng, 480))
    else:
        record["productId"] = product["_id"]
        kind = product.get("type") if product.get("type") in {FEE, SUBSCRIPTION} else SUBSCRIPTION
        fixed = bool(product.get("fixedPeriod")) and kind != FEE
        mrr = product.get("mrr") if isinstance(product.get("mrr"), float) else 100.0
    for name, value in _terms(rng, str(kind), fixed, mrr).items():
        if name in model.fields:
            record[name] = value
    if "status" in model.fields:
        record["status"] = "ongoing"


def roll_up_deals(store: Store, line_items: Model) -> None:
    """Give every seeded deal the revenue and dates of its line items."""
    revenue = Revenue(store)
    for deal in list(store.collection("deals").records.values()):
        revenue.roll_up(line_items, deal, stamp=False)
