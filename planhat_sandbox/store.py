"""In-memory collections of Planhat records, one per registry model.

A :class:`Store` holds one :class:`Collection` per registry model, a shared :class:`Clock`
(strictly increasing write timestamps), a shared :class:`IdFactory` (24-hex ObjectId-like
``_id`` values, unique across every model, as Planhat's are) and the write-only activities.
Collections keep lookup indexes for the keyables (``_id``, ``sourceId``, the model's external id
field, ``email``) and cache sorted orders per ``(field, descending)``, dropped on every write.

The store is not thread-safe by itself: the app holds :attr:`Store.lock` around every call.
"""

from __future__ import annotations

import functools
import threading
import time
from typing import TYPE_CHECKING, Any

import orjson

from planhat_common.epoch_days import epoch_day_date
from planhat_common.registry import MODELS, Model

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

Record = dict[str, Any]

#: Timestamps Planhat fills in itself, set when the model has them (docs/planhat-api.md,
#: "Model quirks").
CREATE_STAMPS = ("createdAt", "createDate")
UPDATE_STAMPS = ("updatedAt", "lastUpdated")
#: ObjectId timestamps of seeded ids start here (2023-01-01T00:00:00Z).
ID_BASE_SECONDS = 1_672_531_200


def iso_ms(epoch_ms: int) -> str:
    """Format epoch milliseconds as Planhat does: ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    days, in_day = divmod(epoch_ms, 86_400_000)
    hours, rest = divmod(in_day, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{_day(days)}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


@functools.lru_cache(maxsize=4096)
def _day(epoch_day: int) -> str:
    return epoch_day_date(epoch_day).strftime("%Y-%m-%d")


class Clock:
    """Write timestamps: wall-clock milliseconds, bumped so every tick is strictly later."""

    def __init__(self) -> None:
        """Start at the current time."""
        self.last_ms = 0

    def tick(self) -> str:
        """A new ISO timestamp, strictly later than every previous one."""
        now = time.time_ns() // 1_000_000
        self.last_ms = max(now, self.last_ms + 1)
        return iso_ms(self.last_ms)


class IdFactory:
    """24-hex ObjectId-like ids: 8 hex of seconds, 6 hex of seed, 10 hex of a counter."""

    def __init__(self, seed: int = 0) -> None:
        """Make ids for ``seed``; the same seed yields the same sequence."""
        self.seed_part = f"{seed & 0xFFFFFF:06x}"
        self.counter = 0
        self.used: set[str] = set()

    def new(self) -> str:
        """The next unused id."""
        while True:
            self.counter += 1
            oid = f"{ID_BASE_SECONDS + self.counter:08x}{self.seed_part}{self.counter:010x}"
            if oid not in self.used:
                self.used.add(oid)
                return oid


def company_name_field(model: Model) -> str | None:
    """The denormalised company-name field next to the model's company reference, if any."""
    return model.company_name_field


def sort_key(value: Any) -> tuple[Any, ...]:
    """Total order over JSON values: missing/null first, then by type, then by value."""
    if value is None:
        return (0,)
    if isinstance(value, bool):
        return (1, 0, int(value))
    if isinstance(value, (int, float)):
        return (1, 1, value)
    if isinstance(value, str):
        return (1, 2, value)
    return (1, 3, orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


class Collection:
    """The records of one model in insertion order, with keyable indexes and sort caches."""

    def __init__(self, model: Model) -> None:
        """An empty collection for ``model``."""
        self.model = model
        self.records: dict[str, Record] = {}
        self.index_fields = tuple(
            f
            for f in ("sourceId", model.external_id_field, "email", *model.keyables)
            if f and f != "_id" and f in model.fields
        )
        self.indexes: dict[str, dict[Any, list[str]]] = {f: {} for f in self.index_fields}
        self._sorted: dict[tuple[str, bool], list[Record]] = {}

    def __len__(self) -> int:
        """Number of records."""
        return len(self.records)

    # -- indexes -------------------------------------------------------------------------------

    def _index(self, record: Record) -> None:
        for name in self.index_fields:
            value = record.get(name)
            if isinstance(value, (str, int)) and value != "":
                self.indexes[name].setdefault(value, []).append(record["_id"])

    def _unindex(self, record: Record) -> None:
        for name in self.index_fields:
            value = record.get(name)
            ids = self.indexes[name].get(value) if isinstance(value, (str, int)) else None
            if ids and record["_id"] in ids:
                ids.remove(record["_id"])
                if not ids:
                    del self.indexes[name][value]

    def changed(self) -> None:
        """Drop cached sort orders after a write."""
        self._sorted.clear()

    # -- reads ---------------------------------------------------------------------------------

    def find_by(self, field: str, value: Any, company_id: str | None = None) -> Record | None:
        """The first record (insertion order) whose ``field`` equals ``value``.

        With ``company_id``, only records owned by that company match: externalId is unique per
        company only (docs/planhat-api.md, "Keyed access (extid-/srcid-)").
        """
        if field == "_id":
            return self.records.get(value) if isinstance(value, str) else None
        if field in self.indexes:
            ids = self.indexes[field].get(value, []) if isinstance(value, (str, int)) else []
            candidates = [self.records[i] for i in ids]
        else:
            candidates = [r for r in self.records.values() if r.get(field) == value]
        if company_id is not None:
            candidates = [r for r in candidates if self.owned_by(r, {company_id})]
        return candidates[0] if candidates else None

    def resolve_key(self, key: str) -> Record | None:
        """The record for a path id: ``_id``, ``extid-<externalId>`` or ``srcid-<sourceId>``."""
        if key.startswith("extid-"):
            ext_field = self.model.external_id_field
            return self.find_by(ext_field, key[6:]) if ext_field else None
        if key.startswith("srcid-"):
            return self.find_by("sourceId", key[6:]) if "sourceId" in self.model.fields else None
        return self.records.get(key)

    def owned_by(self, record: Record, company_ids: set[str]) -> bool:
        """Whether the record references one of ``company_ids`` through its company field."""
        ref_field = self.model.company_field
        if ref_field is None:
            return False
        value = record.get(ref_field)
        values = value if isinstance(value, list) else [value]
        # A reference of another JSON type (an object, a number) matches no company id.
        return any(isinstance(v, str) and v in company_ids for v in values)

    def sorted_records(self, field: str | None, descending: bool = False) -> list[Record]:
        """Records ordered by ``field`` (missing first when ascending), ties by ``_id``."""
        if field is None:
            return list(self.records.values())
        cache_key = (field, descending)
        cached = self._sorted.get(cache_key)
        if cached is None:
            by_id = sorted(self.records.values(), key=lambda r: r["_id"])
            if field == "_id":
                cached = by_id[::-1] if descending else by_id
            else:
                cached = sorted(by_id, key=lambda r: sort_key(r.get(field)), reverse=descending)
            self._sorted[cache_key] = cached
        return cached

    # -- writes --------------------------------------------------------------------------------

    def insert(self, record: Record) -> Record:
        """Add a record that already has its ``_id``."""
        self.records[record["_id"]] = record
        self._index(record)
        self.changed()
        return record

    def update(self, record: Record, changes: Mapping[str, Any]) -> None:
        """Apply ``changes`` to a stored record, keeping the indexes right."""
        self._unindex(record)
        record.update(changes)
        self._index(record)
        self.changed()

    def delete(self, record: Record) -> None:
        """Remove a stored record."""
        self._unindex(record)
        del self.records[record["_id"]]
        self.changed()


class Store:
    """Every model's collection, the write clock, the id factory and the activities."""

    def __init__(self, seed: int = 0) -> None:
        """An empty store whose ids derive from ``seed``."""
        self.lock = threading.RLock()
        self.clock = Clock()
        self.ids = IdFactory(seed)
        self.collections: dict[str, Collection] = {m.name: Collection(m) for m in MODELS}
        self.activities: list[Record] = []

    def collection(self, model: Model | str) -> Collection:
        """The collection of a model (or model name)."""
        return self.collections[model if isinstance(model, str) else model.name]

    @property
    def companies(self) -> Collection:
        """The companies collection, which company references resolve against."""
        return self.collections["companies"]

    def resolve_company_ref(self, value: Any) -> str | None:
        """A company ``_id`` for ``value`` (``_id``, ``extid-…`` or ``srcid-…``), else ``None``."""
        if not isinstance(value, str) or not value:
            return None
        found = self.companies.resolve_key(value)
        return found["_id"] if found else None

    def stamp_create(self, model: Model, record: Record, now: str) -> None:
        """Set the auto timestamps of a new record."""
        for name in (*CREATE_STAMPS, *UPDATE_STAMPS, model.replication_key):
            if name and name in model.fields:
                record[name] = now

    def stamp_update(self, model: Model, changes: dict[str, Any], now: str) -> None:
        """Add the auto update timestamps to a change set."""
        for name in (*UPDATE_STAMPS, model.replication_key):
            if name and name in model.fields:
                changes[name] = now

    def fill_company_name(self, model: Model, record: Record) -> None:
        """Set ``companyName``/``cName`` from the referenced company, when the model has one."""
        name_field = company_name_field(model)
        if name_field is None or model.company_field is None:
            return
        company = self.companies.records.get(record.get(model.company_field) or "")
        if company is not None:
            record[name_field] = company.get("name")

    # -- dump / load ---------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        """The whole store as JSON-able data."""
        return {
            "version": 1,
            "collections": {
                name: list(coll.records.values()) for name, coll in self.collections.items()
            },
            "activities": list(self.activities),
            "id_counter": self.ids.counter,
        }

    def load(self, data: Mapping[str, Any]) -> None:
        """Replace the whole store with a :meth:`dump`; unknown collections are an error."""
        collections = data.get("collections")
        if not isinstance(collections, dict):
            raise ValueError("dump has no 'collections' object")  # noqa: TRY004
        unknown = set(collections) - set(self.collections)
        if unknown:
            raise ValueError(f"unknown collections in dump: {', '.join(sorted(unknown))}")
        fresh = {m.name: Collection(m) for m in MODELS}
        used: set[str] = set()
        for name, records in collections.items():
            for record in _records(records, name):
                fresh[name].insert(record)
                used.add(record["_id"])
        self.collections = fresh
        self.activities = [a for a in data.get("activities") or [] if isinstance(a, dict)]
        self.ids.used = used
        self.ids.counter = int(data.get("id_counter") or 0)


def _records(records: Iterable[Any], name: str) -> Iterable[Record]:
    for record in records:
        if not isinstance(record, dict) or not isinstance(record.get("_id"), str):
            msg = f"every record in '{name}' must be an object with a string _id"
            raise ValueError(msg)  # noqa: TRY004
        yield dict(record)
