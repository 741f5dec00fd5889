"""What Planhat computes itself on the 2026 revenue models (deals, line items, products).

Documented on the developer pages (docs/planhat-api.md, "Model quirks"):

* ``mrr`` and ``arr`` are computed from each other (``Model.annual_pairs``): the one not sent
  follows from the one sent, at 12:1.
* A line item belongs to a deal (``Model.parent_field``) and takes its company from it.
* Once a deal has line items, its revenue and dates are theirs: ``mrr``/``arr`` the sum over
  its subscriptions (revenue "rolls up" from line items to their deal), ``fees`` over its fees,
  ``total`` over all, ``startDate``/``fromDate`` the earliest start, ``endDate``/``toDate``
  the latest end, ``renewalDate`` the earliest end of a subscription.

References to other records (a line item's ``dealId``, ``productId``) must name an existing
record by ``_id``: Planhat documents ``extid-``/``srcid-`` only for company references.
Where Planhat's behaviour is unknown, the sandbox chooses (marked *inferred* below).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planhat_common.registry import get_model

if TYPE_CHECKING:
    from planhat_common.registry import Model
    from planhat_sandbox.store import Record, Store

MONTHS_PER_YEAR = 12
FEE = "fee"


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def derive_annual(model: Model, changes: dict[str, Any]) -> None:
    """Fill the partner of a monthly or annual revenue value being written."""
    for monthly, annual in model.annual_pairs:
        month_value, year_value = _number(changes.get(monthly)), _number(changes.get(annual))
        if month_value is not None:
            changes[annual] = month_value * MONTHS_PER_YEAR
        elif year_value is not None:
            changes[monthly] = year_value / MONTHS_PER_YEAR


class Revenue:
    """The revenue rules, applied around every write the API makes."""

    def __init__(self, store: Store) -> None:
        """Apply the rules to ``store``."""
        self.store = store

    def check_references(self, model: Model, item: dict[str, Any]) -> str | None:
        """Why ``item`` names a record that does not exist, or None."""
        for field_name, target in model.references:
            value = item.get(field_name)
            if value is None:
                continue
            found = isinstance(value, str) and value in self.store.collection(target).records
            if not found:
                return f"{field_name} '{value}' does not match any {get_model(target).planhat_name}"
        return None

    def parent_of(self, model: Model, record: Record) -> Record | None:
        """The record ``record`` belongs to (a line item's deal), if any."""
        if model.parent_field is None:
            return None
        parent_id = record.get(model.parent_field)
        if not isinstance(parent_id, str):
            return None
        return self.store.collection(_parent_model(model)).records.get(parent_id)

    def before_write(self, model: Model, changes: dict[str, Any], record: Record) -> None:
        """Derive what Planhat computes from ``changes`` to ``record`` (a new one: the same)."""
        derive_annual(model, changes)
        company_field = model.company_field
        if model.parent_field in changes and company_field:
            parent = self.parent_of(model, {**record, **changes})
            if parent is not None:
                changes[company_field] = parent.get(company_field)

    def after_write(self, model: Model, record: Record, old_parent: Record | None) -> None:
        """Roll revenue up into the parents ``record`` left and now has, or from its children."""
        new_parent = self.parent_of(model, record)
        if old_parent is not None and old_parent is not new_parent:
            # Inferred: a deal that lost its last line item is left with none of its revenue.
            self.roll_up(model, old_parent, emptied=True)
        if new_parent is not None:
            self.roll_up(model, new_parent)
        for child_model in self._children_of(model) if "_id" in record else ():
            # A deal written with line items attached keeps their revenue (docs: "once line
            # items are attached").
            self.roll_up(child_model, record)

    def _children_of(self, model: Model) -> list[Model]:
        """Models whose records belong to records of ``model`` (deals: line items)."""
        models = (coll.model for coll in self.store.collections.values())
        return [m for m in models if m.parent_field and _parent_model(m) == model.name]

    def roll_up(
        self, child_model: Model, parent: Record, *, stamp: bool = True, emptied: bool = False
    ) -> None:
        """Set a parent's revenue and dates from its children (none: left as written).

        ``stamp``: bump the parent's update timestamps (not when seeding, whose times are fixed).
        ``emptied``: the parent just lost a child, so no children means no revenue.
        """
        assert child_model.parent_field is not None  # noqa: S101 - callers pass children
        children = [
            r
            for r in self.store.collection(child_model).records.values()
            if r.get(child_model.parent_field) == parent["_id"]
        ]
        if not children and not emptied:
            return
        parent_model = self.store.collection(_parent_model(child_model)).model
        derived = _rolled_up(children)
        changes = {
            k: v for k, v in derived.items() if k in parent_model.fields and parent.get(k) != v
        }
        if not changes:
            return
        if stamp:
            # Inferred: a derived change is a change, so incremental readers see it.
            self.store.stamp_update(parent_model, changes, self.store.clock.tick())
        self.store.collection(parent_model).update(parent, changes)


def _parent_model(model: Model) -> str:
    """The name of the model ``model``'s records belong to."""
    return dict(model.references)[model.parent_field or ""]


def _rolled_up(children: list[Record]) -> dict[str, Any]:
    subscriptions = [c for c in children if c.get("type") != FEE]
    mrr = sum(_number(c.get("mrr")) or 0 for c in subscriptions)
    starts = [c["fromDate"] for c in children if isinstance(c.get("fromDate"), str)]
    ends = [c["toDate"] for c in children if isinstance(c.get("toDate"), str)]
    renewals = [c["toDate"] for c in subscriptions if isinstance(c.get("toDate"), str)]
    derived: dict[str, Any] = {
        "mrr": mrr,
        "arr": mrr * MONTHS_PER_YEAR,
        "fees": sum(_number(c.get("value")) or 0 for c in children if c.get("type") == FEE),
        "total": sum(_number(c.get("value")) or 0 for c in children),
    }
    if starts:
        derived["startDate"] = derived["fromDate"] = min(starts)
    if ends:
        derived["endDate"] = derived["toDate"] = max(ends)
    if renewals:
        derived["renewalDate"] = min(renewals)
    return derived
