"""The analytics host: metric pushes and user activities.

Planhat's side is in docs/planhat-api.md, "Metrics (dimension data)" and "User activities".

* ``POST /dimensiondata/<tenant>``: one object or an array of ``{dimensionId, value,
  externalId, model?, date?}``. ``externalId`` names a record of ``model`` (default
  ``Company``; any registry model name works); each item is stored in the ``dimension_data``
  collection (``time`` = the day of ``date``, or now) and is readable through
  ``GET /dimensiondata``. Answers ``{"processed": n, "errors": [...]}``; error entries are
  ``{"item": <index>, "error": "<reason>"}``. Planhat answers 200 even with errors, and so do we.
* ``POST /analytics/<tenant>`` (one activity) and ``POST /analytics/bulk/<tenant>`` (array): the
  items are kept in the store's activities, readable only via ``GET /_sandbox/activities``.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from planhat_common.registry import Model, find_model, get_model

if TYPE_CHECKING:
    from planhat_sandbox.store import Record, Store

DIMENSION_DATA = get_model("dimension_data")
DEFAULT_TARGET = get_model("companies")


def _day_iso(day: Any, now: str) -> str | None:
    """Midnight UTC of ``day`` (``YYYY-MM-DD…``) as an ISO timestamp; ``now``'s day if absent."""
    if day is None:
        return now[:10] + "T00:00:00.000Z"
    try:
        return date.fromisoformat(str(day)[:10]).isoformat() + "T00:00:00.000Z"
    except ValueError:
        return None


def push_metrics(store: Store, body: Any) -> dict[str, Any]:
    """Store pushed dimension data; return Planhat's ``{processed, errors}``."""
    items = body if isinstance(body, list) else [body]
    processed = 0
    errors: list[dict[str, Any]] = []
    coll = store.collection(DIMENSION_DATA)
    now = store.clock.tick()
    for index, item in enumerate(items):
        error, record = _metric(store, item, now)
        if error:
            errors.append({"item": index, "error": error})
        elif record is not None:
            coll.insert(record)
            processed += 1
    return {"processed": processed, "errors": errors}


def _metric(store: Store, item: Any, now: str) -> tuple[str | None, Record | None]:  # noqa: PLR0911
    if not isinstance(item, dict):
        return "item is not an object", None
    missing = [f for f in DIMENSION_DATA.required_for_create if item.get(f) in (None, "")]
    if missing:
        return f"missing required field(s): {', '.join(missing)}", None
    value = item["value"]
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "value must be a number", None
    target: Model | None = find_model(str(item.get("model") or DEFAULT_TARGET.planhat_name))
    if target is None or target.path is None or target.external_id_field is None:
        return f"unknown model '{item.get('model')}'", None
    parent = store.collection(target).find_by(target.external_id_field, str(item["externalId"]))
    if parent is None:
        return f"no {target.planhat_name} with externalId '{item['externalId']}'", None
    time = _day_iso(item.get("date"), now)
    if time is None:
        return f"date '{item.get('date')}' is not an ISO date", None
    if target is DEFAULT_TARGET:
        company_id = parent["_id"]
    else:
        company_id = parent.get(target.company_field or "") if target.company_field else None
    company = store.companies.records.get(company_id) if isinstance(company_id, str) else None
    return None, {
        "_id": store.ids.new(),
        "dimensionId": str(item["dimensionId"]),
        "time": time,
        "value": float(value),
        "model": target.planhat_name,
        "parentId": parent["_id"],
        "companyId": company["_id"] if company else None,
        "companyName": company.get("name") if company else None,
    }


def push_activities(store: Store, body: Any, bulk: bool) -> dict[str, Any]:
    """Keep user activities (one object, or an array when ``bulk``)."""
    items = body if bulk and isinstance(body, list) else [body]
    processed = 0
    errors: list[dict[str, Any]] = []
    now = store.clock.tick()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append({"item": index, "error": "item is not an object"})
            continue
        store.activities.append({**item, "receivedAt": now})
        processed += 1
    return {"processed": processed, "errors": errors}
