"""Planhat's record endpoints over a :class:`~planhat_sandbox.store.Store`.

Each handler takes parsed input and returns ``(status, body)``; the caller holds the store lock
and turns the body into JSON. Model facts (paths, keyables, company fields, page caps,
replication keys, required fields) all come from ``planhat_common.registry``.

Behaviour the sandbox chooses where Planhat's is unknown (each marked in the code too):

* Lists default to insertion order; ``sort`` ties break by ``_id``; missing values sort first
  ascending (last descending).
* ``owner``-style user references (``Model.list_user_refs``) are stored as id strings, returned
  as-is by get-by-id and as ``{"id", "nickName"}`` objects by lists, as Planhat does
  (docs/planhat-api.md, "Model quirks").
* A single ``PUT`` always bumps the update timestamps; a bulk item that changes nothing counts in
  ``nonupdates`` and is not written. A bulk request uses one timestamp for all its items.
* ``custom`` in an update merges into the stored ``custom`` object.
* Bulk error entries are ``{"item": <index>, "error": "<reason>", "key": {<keyables sent>}}``.
* Bulk ``insertsKeys``/``updatesKeys`` entries carry ``_id`` and the keyables sent; public
  evidence also shows ``_id`` alone, so the ``bulk_keys`` fault answers in that shape or with
  no keys lists at all (:func:`reshape_keys`; docs/writes.md, "What a bulk upsert answers").
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from planhat_common.epoch_days import epoch_day
from planhat_common.registry import BULK_UPSERT_MAX_ITEMS, Model, get_model
from planhat_sandbox.revenue import Revenue

if TYPE_CHECKING:
    from collections.abc import Mapping

    from planhat_sandbox.store import Collection, Record, Store

Result = tuple[int, Any]
DEFAULT_LIMIT = 100
DIMENSION_DATA = get_model("dimension_data")


class ApiError(Exception):
    """A request the API refuses: status and message."""

    def __init__(self, status: int, message: str) -> None:
        """Refuse with ``status`` and a human ``message``."""
        super().__init__(message)
        self.status = status
        self.message = message


def _int_param(params: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, f"'{name}' must be an integer") from None


def _epoch_day(iso: Any) -> int | None:
    """Whole days since 1970-01-01 of an ISO timestamp (``YYYY-MM-DD…``)."""
    try:
        return epoch_day(date.fromisoformat(str(iso)[:10]))
    except ValueError:
        return None


class Api:
    """The record endpoints of every registry model."""

    def __init__(self, store: Store) -> None:
        """Serve ``store``."""
        self.store = store
        self.revenue = Revenue(store)

    # -- lists ---------------------------------------------------------------------------------

    def list_page(
        self,
        model: Model,
        params: Mapping[str, str],
        list_cap: int | None = None,
        ignore_sort: bool = False,
    ) -> list[Record]:
        """``GET /<path>``: a page of records (see the module docstring for ordering)."""
        coll = self.store.collection(model)
        cap = min(model.page_cap, list_cap) if list_cap else model.page_cap
        limit = _int_param(params, "limit", DEFAULT_LIMIT)
        offset = _int_param(params, "offset", 0)
        if limit is None or limit < 0 or offset is None or offset < 0:
            raise ApiError(400, "'limit' and 'offset' must be non-negative")
        limit = cap if limit == 0 else min(limit, cap)  # limit=0 means "no limit" (Mongo)
        sort = None if ignore_sort else (params.get("sort") or None)
        descending = bool(sort and sort.startswith("-"))
        records = coll.sorted_records(sort.lstrip("-+ ") if sort else None, descending)
        matches = self._filters(coll, params)
        if matches:
            page: list[Record] = []
            skipped = 0
            for record in records:
                if all(match(record) for match in matches):
                    if skipped < offset:
                        skipped += 1
                        continue
                    page.append(record)
                    if len(page) >= limit:
                        break
        else:
            page = records[offset : offset + limit]
        return self._render(model, page, params.get("select"))

    def _filters(self, coll: Collection, params: Mapping[str, str]) -> list[Any]:
        model = coll.model
        matches: list[Any] = []
        company_param = params.get("companyId")
        if model is DIMENSION_DATA:
            company_param = company_param or params.get("cid") or params.get("cId")
            matches.extend(self._dimension_filters(params))
        if company_param and model.company_field:
            ids = {c for c in company_param.split(",") if c}
            resolved = {self.store.resolve_company_ref(c) or c for c in ids}
            matches.append(lambda r: coll.owned_by(r, resolved))
        for name in ("type", "email"):
            value = params.get(name)
            if value is not None and name in model.fields:
                matches.append(lambda r, n=name, v=value: r.get(n) == v)
        return matches

    @staticmethod
    def _dimension_filters(params: Mapping[str, str]) -> list[Any]:
        """``dimid`` and inclusive ``from``/``to`` epoch days on ``time``."""
        matches: list[Any] = []
        dimid = params.get("dimid")
        if dimid:
            matches.append(lambda r: r.get("dimensionId") == dimid)
        low = _int_param(params, "from", None)
        high = _int_param(params, "to", None)
        if low is not None or high is not None:

            def in_window(record: Record) -> bool:
                day = _epoch_day(record.get("time"))
                if day is None:
                    return False
                return (low is None or day >= low) and (high is None or day <= high)

            matches.append(in_window)
        return matches

    def _render(self, model: Model, page: list[Record], select: str | None) -> list[Record]:
        """Apply ``select`` (``_id`` always kept) and list-style user references."""
        if select:
            names = ["_id", *(s.strip() for s in select.split(",") if s.strip())]
            page = [{n: r[n] for n in names if n in r} for r in page]
        refs = model.list_user_refs
        if not refs:
            return page
        users = self.store.collection("users").records
        out = []
        for stored in page:
            record = stored
            if any(isinstance(stored.get(n), str) for n in refs):
                record = dict(stored)
                for name in refs:
                    uid = record.get(name)
                    if isinstance(uid, str):
                        user = users.get(uid) or {}
                        record[name] = {"id": uid, "nickName": user.get("nickName")}
            out.append(record)
        return out

    # -- single records ------------------------------------------------------------------------

    def find(self, model: Model, key: str) -> Record:
        """The record for a path id, or a 404."""
        record = self.store.collection(model).resolve_key(key)
        if record is None:
            raise ApiError(404, f"{model.planhat_name} '{key}' not found")
        return record

    def create(self, model: Model, body: Any) -> Result:
        """``POST /<path>``: create one record."""
        if not isinstance(body, dict):
            raise ApiError(400, "body must be a JSON object")
        item = {k: v for k, v in body.items() if k != "_id"}
        error = self.resolve_company(model, item)
        if error:
            raise ApiError(400, error)
        missing = _missing_required(model, item)
        if missing:
            raise ApiError(400, f"missing required field(s): {', '.join(missing)}")
        return 200, self.insert_record(model, item, self.store.clock.tick())

    def update(self, model: Model, key: str, body: Any) -> Result:
        """``PUT /<path>/<id>``: partial update (``_id`` in the body is ignored)."""
        record = self.find(model, key)
        if not isinstance(body, dict):
            raise ApiError(400, "body must be a JSON object")
        changes = {k: v for k, v in body.items() if k != "_id"}
        error = self.resolve_company(model, changes)
        if error:
            raise ApiError(400, error)
        self.apply_changes(model, record, changes, self.store.clock.tick())
        return 200, record

    def delete(self, model: Model, key: str) -> Result:
        """``DELETE /<path>/<id>``."""
        record = self.find(model, key)
        self.store.collection(model).delete(record)
        # A deleted line item's revenue leaves its deal: the record is its own "new" state.
        self.revenue.after_write(model, {}, self.revenue.parent_of(model, record))
        return 200, {"n": 1, "ok": 1, "deletedCount": 1}

    def touch(self, model: Model, keys: list[Any], fields: dict[str, Any]) -> list[Record]:
        """Admin: change records server-side, bumping their update timestamps."""
        records = [self.find(model, str(k)) for k in keys]
        now = self.store.clock.tick()
        for record in records:
            self.apply_changes(model, record, dict(fields), now)
        return records

    # -- writes --------------------------------------------------------------------------------

    def resolve_company(self, model: Model, item: dict[str, Any]) -> str | None:
        """Resolve the company reference and check the others; an error or ``None``."""
        return self._resolve_company(model, item) or self.revenue.check_references(model, item)

    def _resolve_company(self, model: Model, item: dict[str, Any]) -> str | None:
        """Turn ``extid-``/``srcid-`` company references into ``_id`` s; an error or ``None``."""
        ref = model.company_field
        if ref is None or item.get(ref) is None:
            return None
        value = item[ref]
        values = value if isinstance(value, list) else [value]
        resolved = []
        for v in values:
            company_id = self.store.resolve_company_ref(v)
            if company_id is None:
                return f"{ref} '{v}' does not match any company"
            resolved.append(company_id)
        item[ref] = resolved if isinstance(value, list) else resolved[0]
        return None

    def insert_record(self, model: Model, item: dict[str, Any], now: str) -> Record:
        """Store a new record made of ``item`` (company reference already resolved)."""
        store = self.store
        record: Record = {"_id": store.ids.new(), **item}
        self.revenue.before_write(model, record, record)
        if "__v" in model.fields:
            record.setdefault("__v", 0)
        store.stamp_create(model, record, now)
        store.fill_company_name(model, record)
        store.collection(model).insert(record)
        self.revenue.after_write(model, record, None)
        return record

    def apply_changes(
        self, model: Model, record: Record, changes: dict[str, Any], now: str
    ) -> None:
        """Write ``changes`` to a stored record and bump its update timestamps."""
        old_parent = self.revenue.parent_of(model, record)
        self.revenue.before_write(model, changes, record)
        old_custom = record.get("custom")
        if isinstance(changes.get("custom"), dict) and isinstance(old_custom, dict):
            changes["custom"] = {**old_custom, **changes["custom"]}
        self.store.stamp_update(model, changes, now)
        if "__v" in model.fields:
            changes["__v"] = int(record.get("__v") or 0) + 1
        coll = self.store.collection(model)
        coll.update(record, changes)
        if model.company_field in changes:
            self.store.fill_company_name(model, record)
        self.revenue.after_write(model, record, old_parent)

    def bulk_upsert(self, model: Model, body: Any, keys: str = "keyables") -> Result:
        """``PUT /<path>`` with an array: match each item on the keyables, update or create.

        ``keys``: the shape of the written-keys entries (:func:`reshape_keys`).
        """
        if not isinstance(body, list):
            raise ApiError(400, "bulk upsert body must be a JSON array")
        if len(body) > BULK_UPSERT_MAX_ITEMS:
            raise ApiError(400, f"at most {BULK_UPSERT_MAX_ITEMS} items per bulk upsert")
        status, result = _BulkUpsert(self, model).run(body)
        return status, reshape_keys(result, keys)


def reshape_keys(result: dict[str, Any], keys: str) -> dict[str, Any]:
    """A bulk answer whose written-keys entries hold ``keys``: what a client must cope with.

    ``"keyables"``: ``{_id, <keyables sent>}`` as built; ``"id_only"``: ``{_id}`` (hull-planhat's
    fixtures of Planhat's answers); ``"none"``: no ``insertsKeys``, ``updatesKeys``,
    ``upsertedIds`` or ``modified`` at all, only the counts and errors.
    """
    if keys == "id_only":
        for name in ("insertsKeys", "updatesKeys"):
            result[name] = [{"_id": entry["_id"]} for entry in result[name]]
    elif keys == "none":
        for name in ("insertsKeys", "updatesKeys", "upsertedIds", "modified"):
            del result[name]
    return result


def _missing_required(model: Model, item: Mapping[str, Any]) -> list[str]:
    return [f for f in model.required_for_create if item.get(f) in (None, "", [])]


class _BulkUpsert:
    """One bulk-upsert request.

    Its answer has Planhat's shape (docs/writes.md, "What a bulk upsert answers").
    """

    def __init__(self, api: Api, model: Model) -> None:
        self.api = api
        self.model = model
        self.coll = api.store.collection(model)
        self.now = api.store.clock.tick()
        self.result: dict[str, Any] = {
            "created": 0,
            "createdErrors": [],
            "insertsKeys": [],
            "updated": 0,
            "updatedErrors": [],
            "updatesKeys": [],
            "nonupdates": 0,
            "modified": [],
            "upsertedIds": [],
            "permissionErrors": [],
        }
        self.seen_keys: set[tuple[str, Any]] = set()
        self.seen_ids: set[str] = set()

    def run(self, items: list[Any]) -> Result:
        for index, item in enumerate(items):
            self.one(index, item)
        res = self.result
        errors = len(res["createdErrors"]) + len(res["updatedErrors"])
        errors += len(res["permissionErrors"])
        done = res["created"] + res["updated"] + res["nonupdates"]
        status = 200 if not errors else (206 if done else 400)
        return status, res

    def _keys(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {
            k: item[k]
            for k in self.model.keyables
            if item.get(k) not in (None, "") and isinstance(item[k], (str, int))
        }

    def _match(self, item: Mapping[str, Any], keys: Mapping[str, Any]) -> Record | None:
        """The first keyable (in registry order) that matches a stored record."""
        model = self.model
        company = item.get(model.company_field) if model.company_field else None
        for name, value in keys.items():
            scope = (
                company if name == model.external_id_field and isinstance(company, str) else None
            )
            found = self.coll.find_by(name, value, scope)
            if found is not None:
                return found
        return None

    def _error(self, bucket: str, index: int, reason: str, keys: Mapping[str, Any]) -> None:
        self.result[bucket].append({"item": index, "error": reason, "key": dict(keys)})

    def one(self, index: int, item: Any) -> None:
        if not isinstance(item, dict):
            self._error("createdErrors", index, "item is not an object", {})
            return
        keys = self._keys(item)
        fields = {k: v for k, v in item.items() if k != "_id"}
        error = self.api.resolve_company(self.model, fields)
        record = self._match(fields, keys)
        bucket = "updatedErrors" if record is not None else "createdErrors"
        if error:
            self._error(bucket, index, error, keys)
            return
        duplicate = [k for k, v in keys.items() if (k, v) in self.seen_keys]
        if record is not None and record["_id"] in self.seen_ids and not duplicate:
            duplicate = list(keys)
        self.seen_keys.update(keys.items())
        if duplicate:
            self._error(bucket, index, f"{','.join(duplicate)} duplicated", keys)
            return
        if record is None:
            self._create(index, fields, keys)
            return
        self.seen_ids.add(record["_id"])
        changes = {k: v for k, v in fields.items() if record.get(k) != v}
        if "custom" in changes and isinstance(record.get("custom"), dict):
            merged = {**record["custom"], **(fields.get("custom") or {})}
            if merged == record["custom"]:
                del changes["custom"]
        if not changes:
            self.result["nonupdates"] += 1
            return
        self.api.apply_changes(self.model, record, changes, self.now)
        self.result["updated"] += 1
        self.result["updatesKeys"].append({"_id": record["_id"], **keys})
        self.result["modified"].append(record["_id"])
        self.result["upsertedIds"].append(record["_id"])

    def _create(self, index: int, fields: dict[str, Any], keys: Mapping[str, Any]) -> None:
        if "_id" in keys:
            self._error("createdErrors", index, f"no record with _id '{keys['_id']}'", keys)
            return
        missing = _missing_required(self.model, fields)
        if missing:
            reason = f"missing required field(s): {', '.join(missing)}"
            self._error("createdErrors", index, reason, keys)
            return
        record = self.api.insert_record(self.model, fields, self.now)
        self.seen_ids.add(record["_id"])
        self.result["created"] += 1
        self.result["insertsKeys"].append({"_id": record["_id"], **keys})
        self.result["upsertedIds"].append(record["_id"])
