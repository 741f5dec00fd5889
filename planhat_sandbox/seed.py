"""Deterministic seed data for every registry model.

Values are generated from the registry's field types (``FieldType``), with hints by field name
only to make them look real (names, emails, currencies, statuses). The same ``seed`` and record
counts always give the same store: a seeded RNG, fixed base timestamps and a seeded id factory.
Replication-key values are distinct within a model and in a different order from ``_id``.

Seed layout:

* ``/customfields`` defines, for ``Company``, one custom field of every type in
  ``registry.CUSTOM_FIELD_TYPES``; every other model with ``custom`` gets a rotating handful.
  Seeded records carry ``custom`` values of the matching type (some left out).
* ``users`` first, then ``companies``, then ``endusers`` and the other models; company-owned
  records reference seeded companies through the model's ``company_field`` (a list for
  ``companyIds``) and carry the denormalised company name.
* ``dimension_data``: three dimensions x seven days (epoch days 19717-19723, i.e. 2023-12-26 to
  2024-01-01) x the first five companies.
* About 8% of optional fields are left out and 2% are ``null``.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from planhat_common.fieldtypes import Shape
from planhat_common.registry import CUSTOM_FIELD_TYPES, MODELS, Model, find_model, get_model
from planhat_sandbox.seed_revenue import (
    finish_license,
    finish_line_item,
    finish_product,
    roll_up_deals,
)
from planhat_sandbox.store import Record, Store, company_name_field, iso_ms
from planhat_sandbox.values import (
    BASE_EPOCH_DAY,
    BASE_MS,
    DAY_MS,
    UNFIT_FIELDS,
    YEAR_MS,
    Pools,
    below,
    between,
    field_gen,
    person,
    pick,
    some,
)
from planhat_sandbox.words import COMPANY_A, COMPANY_B, COMPANY_C, CUSTOM_NAMES, LIST_VALUES, WORDS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from planhat_common.fieldtypes import FieldType

OTHER_MODEL_CUSTOM_TYPES = 5
#: Records past this many per model reuse generated field values (see ``seed_model``).
TEMPLATES = 2048
#: Shares of optional fields left out / set to null.
ABSENT_SHARE = 0.1
NULL_SHARE = 0.02
ALWAYS = frozenset({"_id", "name", "email", "title", "createdAt", "updatedAt", "lastUpdated"})
DIMENSIONS = ("logins", "active_users", "api_calls")
#: Spellings of a record's company reference that sources show, and the company attribute
#: each holds (tickets and notes also carry the company's externalId).
COMPANY_REFERENCES = {
    "companyId": "_id",
    "cId": "_id",
    "companyName": "name",
    "cName": "name",
    "companyExternalId": "externalId",
}
DIMENSION_DAYS = 7
DIMENSION_COMPANIES = 5


def _company_name(rng: random.Random, i: int) -> str:
    return f"{pick(rng, COMPANY_A)} {pick(rng, COMPANY_B)} {pick(rng, COMPANY_C)} {i + 1}"


def _custom_gen(type_name: str, definition: Record, pools: Pools) -> Any:  # noqa: PLR0911
    """A value generator for one custom field, by its type (every shape, quirks included)."""
    field_type = CUSTOM_FIELD_TYPES[type_name]
    values = definition.get("listValues") or list(LIST_VALUES)
    if type_name == "list":
        return lambda rng, _i: pick(rng, values)
    if type_name == "multipicklist":
        return lambda rng, _i: some(rng, values, between(rng, 1, 3))
    if type_name in {"team member", "enduser"}:
        ids = pools.user_ids if type_name == "team member" else pools.enduser_ids
        return lambda rng, _i: pick(rng, ids) if ids else None
    if type_name in {"team members", "endusers"}:
        ids = pools.user_ids if type_name == "team members" else pools.enduser_ids
        return lambda rng, _i: some(rng, ids, between(rng, 1, 3))
    if type_name in {"email", "url", "phone"}:
        return field_gen(field_model(), type_name, field_type, pools, plain=True)
    if type_name in {"text", "rich text"}:
        return lambda rng, _i: f"{pick(rng, WORDS)} {pick(rng, WORDS)}"
    unfit = type_name == "number"  # "n/a" in a number custom field
    return field_gen(field_model(), type_name, field_type, pools, plain=False, unfit=unfit)


def field_model() -> Model:
    """The custom-field model (used only for generator lookups)."""
    return get_model("custom_fields")


def plain_fields(model: Model) -> set[str | None]:
    """Fields the sandbox itself reads (keys, references, sort keys): one clean shape."""
    return {
        "_id",
        "custom",
        "__v",
        "type",
        "firstName",
        "lastName",
        "nickName",
        *COMPANY_REFERENCES,
        *ALWAYS,
        *model.keyables,
        *model.required_for_create,
        *model.list_user_refs,
        model.company_field,
        company_name_field(model),
        model.external_id_field,
        model.replication_key,
    }


class Seeder:
    """Fill a :class:`Store` from a seed and per-model record counts."""

    def __init__(
        self, store: Store, seed: int, records: int, model_records: Mapping[str, int] | None
    ) -> None:
        """Prepare to seed ``store``."""
        self.store = store
        self.rng = random.Random(seed)  # noqa: S311 - reproducible data, not security
        self.pools = Pools(self.rng)
        self.companies: list[Record] = []
        self.custom_fields: dict[str, list[Record]] = {}
        self.records = records
        self.model_records = dict(model_records or {})
        #: Seeded records of the models the model being seeded references, by model name.
        self.referenced: dict[str, list[Record]] = {}

    def count(self, model: Model) -> int:
        """How many records to seed for ``model``."""
        return max(0, int(self.model_records.get(model.name, self.records)))

    def run(self) -> None:
        """Seed every model."""
        order = sorted(
            (m for m in MODELS if m.path),
            key=lambda m: {"custom_fields": 0, "users": 1, "companies": 2, "endusers": 3}.get(
                m.name, 9
            ),
        )
        for model in order:
            if model.name == "custom_fields":
                self.seed_custom_fields(model)
            elif model.name == "dimension_data":
                self.seed_dimension_data(model)
            else:
                self.seed_model(model)
        line_items = find_model("line_items")
        if line_items is not None:
            roll_up_deals(self.store, line_items)
        for model in order:
            self.seed_custom_values(model)

    def seed_custom_values(self, model: Model) -> None:
        """Give seeded records ``custom`` values for their model's custom fields.

        Runs last, so enduser and team-member fields can reference every seeded record.
        """
        customs = self.custom_fields.get(model.planhat_name)
        if not customs or "custom" not in model.fields:
            return
        rng = self.rng
        gens = [(f["name"], _custom_gen(f["type"], f, self.pools)) for f in customs]
        templates: list[dict[str, Any]] = []
        for i, record in enumerate(self.store.collection(model).records.values()):
            if i < TEMPLATES:
                custom = {name: gen(rng, i) for name, gen in gens if rng.random() >= ABSENT_SHARE}
                templates.append(custom)
            else:
                custom = dict(templates[int(rng.random() * TEMPLATES)])
            record["custom"] = custom

    def seed_custom_fields(self, model: Model) -> None:
        """One custom field per type on Company, a rotating few on the other models."""
        coll = self.store.collection(model)
        types = list(CUSTOM_FIELD_TYPES)
        offset = 0
        for parent in MODELS:
            if not parent.path or "custom" not in parent.fields or parent is model:
                continue
            if parent.name == "companies":
                chosen = types
            else:
                chosen = [types[(offset + k) % len(types)] for k in range(OTHER_MODEL_CUSTOM_TYPES)]
                offset += OTHER_MODEL_CUSTOM_TYPES
            for type_name in chosen:
                record: Record = {
                    "_id": self.store.ids.new(),
                    "name": CUSTOM_NAMES.get(type_name, f"{type_name.title()} Field"),
                    "type": type_name,
                    "parent": parent.planhat_name,
                    "isFeatured": False,
                    "isHidden": False,
                    "isShared": True,
                    "isLocked": False,
                    "isMandatory": False,
                    "isFormula": False,
                    "treatUndefinedAsZero": False,
                }
                if type_name in {"list", "multipicklist"}:
                    record["listValues"] = list(LIST_VALUES)
                if CUSTOM_FIELD_TYPES[type_name].shapes == {Shape.NUMBER}:
                    record["numberFormat"] = "decimal"
                    if parent.name == "companies":
                        record["isFormula"] = True
                        record["formula"] = "<<mrr>> * 12"
                coll.insert(record)
                self.custom_fields.setdefault(parent.planhat_name, []).append(record)

    def seed_model(self, model: Model) -> None:
        """Seed ``count(model)`` records of a record model."""
        rng, store = self.rng, self.store
        coll = store.collection(model)
        n = self.count(model)
        skip = {"_id", "custom", "__v", model.company_field, company_name_field(model)}
        always = ALWAYS | set(model.required_for_create) | set(model.keyables)
        plain = plain_fields(model)
        gens = [
            (name, self._field_gen(model, name, ftype, plain=name in plain), name in always)
            for name, ftype in model.fields.items()
            if name not in skip
        ]
        order = list(range(n))
        rng.shuffle(order)
        ext_field = model.external_id_field
        prefix = model.planhat_name.upper()
        stamp_fields = [
            f
            for f in ("createdAt", "createDate", "updatedAt", "lastUpdated", model.replication_key)
            if f and f in model.fields
        ]
        templates: list[Record] = []
        self.referenced = {
            target: list(store.collection(target).records.values())
            for _field, target in model.references
        }
        for i in range(n):
            if i < TEMPLATES:
                record: Record = {"_id": store.ids.new()}
                for name, gen, required in gens:
                    roll = rng.random()
                    if required or roll >= ABSENT_SHARE:
                        record[name] = gen(rng, i)
                    elif roll < NULL_SHARE:
                        record[name] = None
                templates.append(record)
            else:
                # Past TEMPLATES records, reuse generated values (fast for 100k records);
                # identity, timestamps, names and company references stay per record.
                record = {**templates[int(rng.random() * TEMPLATES)], "_id": store.ids.new()}
            created = BASE_MS - YEAR_MS + i * 60_000
            updated = created + (order[i] + 1) * 1000 + below(rng, 1000)
            for name in stamp_fields:
                is_update = name in {"updatedAt", "lastUpdated", model.replication_key}
                record[name] = iso_ms(updated if is_update else created)
            if "__v" in model.fields:
                record["__v"] = below(rng, 5)
            if ext_field:
                record[ext_field] = f"{prefix}-{i + 1:06d}"
            if "sourceId" in model.fields:
                record["sourceId"] = f"{model.name}-src-{i + 1}"
            self._finish(model, record, rng, i)
            coll.insert(record)
        self._remember(model, coll.records.values())

    def _field_gen(self, model: Model, name: str, field_type: FieldType, *, plain: bool) -> Any:
        unfit = (model.name, name) in UNFIT_FIELDS
        return field_gen(model, name, field_type, self.pools, plain=plain, unfit=unfit)

    def _finish(self, model: Model, record: Record, rng: random.Random, i: int) -> None:
        """Make related fields coherent (people, company names, company references)."""
        if "firstName" in model.fields:
            first, last = person(rng)
            record["firstName"], record["lastName"] = first, last
            record["name" if "name" in model.fields else "nickName"] = f"{first} {last}"
            if "nickName" in model.fields:
                record["nickName"] = first
            record["email"] = f"{first}.{last}.{i + 1}@{model.name}.example.com".lower()
        elif model.name == "companies":
            record["name"] = _company_name(rng, i)
            record["slug"] = record["name"].lower().replace(" ", "-")
        ref = model.company_field
        companies = self.companies
        if ref and companies:
            company = companies[below(rng, len(companies))]
            # Every spelling of the company reference a source shows names the same company.
            for name, attribute in COMPANY_REFERENCES.items():
                if name in model.fields:
                    record[name] = company.get(attribute)
            if model.fields[ref].items is not None:
                others = some(rng, companies, min(len(companies), below(rng, 2)))
                record[ref] = list(dict.fromkeys([company["_id"], *(c["_id"] for c in others)]))
        self._finish_revenue(model, record, rng)

    def _finish_revenue(self, model: Model, record: Record, rng: random.Random) -> None:
        """Coherent licenses, catalog entries and line items (seed_revenue.py)."""
        if model.name == "licenses":
            finish_license(rng, record)
        elif model.name == "products":
            finish_product(rng, record)
        elif model.name == "line_items" and self.referenced.get("deals"):
            products = self.referenced.get("products", [])
            finish_line_item(rng, model, record, self.referenced["deals"], products)

    def _remember(self, model: Model, records: Any) -> None:
        """Keep ids that later models reference."""
        if model.name == "users":
            self.pools.user_ids = [r["_id"] for r in records]
        elif model.name == "companies":
            self.companies = list(records)
        elif model.name == "endusers":
            recs = list(records)
            self.pools.enduser_ids = [r["_id"] for r in recs]
            self.pools.enduser_emails = [r["email"] for r in recs if r.get("email")]

    def seed_dimension_data(self, model: Model) -> None:
        """Three dimensions x seven days x the first five companies."""
        coll = self.store.collection(model)
        company_model = find_model("companies")
        for company in self.companies[:DIMENSION_COMPANIES]:
            for dimension in DIMENSIONS:
                for back in range(DIMENSION_DAYS):
                    day = BASE_EPOCH_DAY - DIMENSION_DAYS + 1 + back
                    coll.insert(
                        {
                            "_id": self.store.ids.new(),
                            "dimensionId": dimension,
                            "time": iso_ms(day * DAY_MS),
                            "value": float(below(self.rng, 1000)),
                            "model": company_model.planhat_name if company_model else "Company",
                            "parentId": company["_id"],
                            "companyId": company["_id"],
                            "companyName": company.get("name"),
                        }
                    )


def seed_store(
    store: Store, records: int = 20, seed: int = 0, model_records: Mapping[str, int] | None = None
) -> Store:
    """Fill ``store`` with deterministic data: ``records`` per model unless overridden."""
    Seeder(store, seed, records, model_records).run()
    return store
