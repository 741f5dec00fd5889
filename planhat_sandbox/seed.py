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

from planhat_common.registry import CUSTOM_FIELD_TYPES, MODELS, FieldType, Model, find_model
from planhat_sandbox.store import Record, Store, company_name_field, iso_ms

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: Seeded "now": 2024-01-01T00:00:00.000Z. Seed timestamps lie before it.
BASE_MS = 1_704_067_200_000
BASE_EPOCH_DAY = 19723
DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
DIMENSIONS = ("logins", "active_users", "api_calls")
DIMENSION_DAYS = 7
DIMENSION_COMPANIES = 5

FIRST = [
    "Alice",
    "Bruno",
    "Chen",
    "Dana",
    "Emil",
    "Fatima",
    "Gustav",
    "Hana",
    "Ivan",
    "Julia",
    "Karl",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Astrid",
    "Bjorn",
    "Chloe",
    "Diego",
]
LAST = [
    "Andersson",
    "Baker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quist",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
]
COMPANY_A = [
    "Acme",
    "Blue",
    "Crimson",
    "Delta",
    "Evergreen",
    "Falcon",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Keystone",
    "Lumen",
    "Meridian",
    "Northwind",
    "Orbit",
    "Pioneer",
    "Quartz",
    "Redwood",
    "Summit",
    "Tidal",
    "Umbra",
    "Vertex",
    "Willow",
    "Zenith",
]
COMPANY_B = [
    "Analytics",
    "Systems",
    "Logistics",
    "Health",
    "Robotics",
    "Foods",
    "Energy",
    "Labs",
    "Media",
    "Software",
    "Capital",
    "Networks",
    "Dynamics",
    "Works",
    "Partners",
    "Studios",
]
COMPANY_C = ("AB", "Inc", "Ltd", "GmbH", "AS", "SA", "Oy", "LLC")
CITIES = ("Stockholm", "Berlin", "London", "New York", "Oslo", "Paris", "Madrid", "Tokyo")
COUNTRIES = ("Sweden", "Germany", "United Kingdom", "United States", "Norway", "France", "Spain")
TAGS = ("enterprise", "smb", "pilot", "strategic", "at-risk", "expansion", "emea", "apac")
WORDS = [
    "quarterly",
    "review",
    "onboarding",
    "renewal",
    "kickoff",
    "escalation",
    "training",
    "rollout",
    "pricing",
    "integration",
    "feedback",
    "roadmap",
    "workshop",
    "migration",
    "health",
    "check",
]
PRODUCTS = ("Core", "Analytics Add-on", "Premium Support", "API Access", "Seats")
CURRENCIES = ("USD", "EUR", "GBP", "SEK")
STATUSES: Mapping[str, tuple[str, ...]] = {
    "companies": ("prospect", "coming", "customer", "canceled", "lost"),
    "invoices": ("pending", "paid", "overdue"),
    "opportunities": ("active", "won", "lost"),
    "licenses": ("ongoing", "renewed", "lost"),
    "timesheets": ("draft", "submitted", "approved", "returned"),
}
DEFAULT_STATUSES = ("open", "in progress", "done", "closed")
CHOICES: Mapping[str, tuple[str, ...]] = {
    "phase": ("Onboarding", "Adoption", "Renewal", "Expansion"),
    "type": ("note", "email", "call", "chat", "ticket"),
    "mainType": ("task", "event"),
    "priority": ("low", "medium", "high"),
    "severity": ("low", "medium", "high", "critical"),
    "salesStage": ("Discovery", "Demo", "Proposal", "Negotiation"),
    "renewalStatus": ("ongoing", "renewed", "lost"),
    "renewalUnit": ("month", "year"),
    "noticeUnit": ("month", "day"),
    "invoiceCycle": ("monthly", "quarterly", "yearly"),
    "repeat": ("daily", "weekly", "monthly"),
    "source": ("api", "zendesk", "salesforce", "hubspot"),
    "roles": ("admin", "csm", "manager", "viewer"),
    "teams": ("EMEA", "Americas", "APAC"),
    "reasons": ("price", "product fit", "support", "budget"),
    "campaignPurpose": ("nps", "onboarding", "upsell"),
    "assignedModel": ("User",),
    "targetModel": ("Company", "EndUser"),
    "timesheetStatus": ("draft", "submitted", "approved", "returned"),
    "numberFormat": ("integer", "decimal", "currency", "percent"),
}
CUSTOM_NAMES: Mapping[str, str] = {
    "number": "Seats Purchased",
    "text": "Segment Note",
    "rich text": "Account Plan",
    "checkbox": "Reference Customer",
    "day": "Kickoff Day",
    "date": "Contract Signed",
    "list": "Tier",
    "multipicklist": "Modules",
    "team member": "Solutions Engineer",
    "team members": "Account Team",
    "rating": "Champion Strength",
    "phone": "Support Line",
    "email": "Billing Email",
    "enduser": "Main Contact",
    "endusers": "Stakeholders",
    "url": "CRM Link",
}
LIST_VALUES = ("Gold", "Silver", "Bronze", "Platinum")
OTHER_MODEL_CUSTOM_TYPES = 5
#: Records past this many per model reuse generated field values (see ``seed_model``).
TEMPLATES = 2048
#: Shares of optional fields left out / set to null, and of true booleans.
ABSENT_SHARE = 0.1
NULL_SHARE = 0.02
TRUE_SHARE = 0.3
ALWAYS = frozenset({"_id", "name", "email", "title", "createdAt", "updatedAt", "lastUpdated"})


class _Context:
    """Ids and names of already-seeded records that later models reference."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.user_ids: list[str] = []
        self.user_names: list[str] = []
        self.companies: list[Record] = []
        self.enduser_ids: list[str] = []
        self.enduser_emails: list[str] = []
        self.dates = [
            iso_ms(BASE_MS - _below(rng, 3 * YEAR_MS) + _below(rng, DAY_MS)) for _ in range(4096)
        ]
        self.custom_fields: dict[str, list[Record]] = {}

    def any_id(self, rng: random.Random) -> str | None:
        pool = self.user_ids or self.enduser_ids
        return _pick(rng, pool) if pool else None


def _pick(rng: random.Random, pool: Sequence[Any]) -> Any:
    return pool[int(rng.random() * len(pool))]


def _below(rng: random.Random, n: int) -> int:
    return int(rng.random() * n)


def _between(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low))


def _some(rng: random.Random, pool: Sequence[Any], k: int) -> list[Any]:
    """``k`` distinct items of ``pool`` (a rotated slice: cheaper than ``random.sample``)."""
    start = int(rng.random() * len(pool)) if pool else 0
    return [pool[(start + j) % len(pool)] for j in range(min(k, len(pool)))]


def _person(rng: random.Random) -> tuple[str, str]:
    return _pick(rng, FIRST), _pick(rng, LAST)


def _company_name(rng: random.Random, i: int) -> str:
    return f"{_pick(rng, COMPANY_A)} {_pick(rng, COMPANY_B)} {_pick(rng, COMPANY_C)} {i + 1}"


def _string_gen(model: Model, name: str, ctx: _Context) -> Any:  # noqa: C901, PLR0911, PLR0912
    lname = name.lower()
    if name in CHOICES:
        pool = CHOICES[name]
        return lambda rng, _i: _pick(rng, pool)
    if name == "status":
        statuses = STATUSES.get(model.name, DEFAULT_STATUSES)
        return lambda rng, _i: _pick(rng, statuses)
    if "currency" in lname:
        return lambda rng, _i: _pick(rng, CURRENCIES)
    if name == "product":
        return lambda rng, _i: _pick(rng, PRODUCTS)
    if name == "city":
        return lambda rng, _i: _pick(rng, CITIES)
    if name in {"country", "addressCountry"}:
        return lambda rng, _i: _pick(rng, COUNTRIES)
    if name in {"web", "url", "sourceUrl", "image"}:
        return lambda rng, i: f"https://{_pick(rng, COMPANY_A).lower()}{i}.example.com"
    if name == "phone":
        return lambda rng, _i: f"+46 8 {_between(rng, 100, 999)} {_between(rng, 1000, 9999)}"
    if "email" in lname:
        return lambda rng, _i: _pick(rng, ctx.enduser_emails) if ctx.enduser_emails else None
    if name == "name":
        label = model.planhat_name
        return lambda rng, i: f"{_pick(rng, WORDS).title()} {label} {i + 1}"
    if lname.endswith("name"):
        return lambda rng, _i: " ".join(_person(rng))
    if name.endswith("Id") or name in {"owner", "approvedBy", "doneBy", "parent"}:
        return lambda rng, _i: ctx.any_id(rng)
    if name == "zip":
        return lambda rng, _i: f"{_between(rng, 10000, 99999)}"
    return lambda rng, _i: " ".join(_pick(rng, WORDS) for _ in range(_between(rng, 1, 5)))


def _number_gen(name: str) -> Any:
    lname = name.lower()
    if name in {"h", "health", "csmScore"}:
        return lambda rng, _i: float(_between(rng, 1, 11))
    if "probability" in lname or "rate" in lname or lname.startswith("percent"):
        return lambda rng, _i: round(rng.random() * 100, 1)
    if name in {"hours", "timeSpent"}:
        return lambda rng, _i: round(rng.uniform(0.5, 8), 1)
    return lambda rng, _i: round(rng.random() * 50_000, 2)


def _value_gen(model: Model, name: str, ftype: FieldType, ctx: _Context) -> Any:  # noqa: C901, PLR0911, PLR0912
    if ftype is FieldType.STRING:
        return _string_gen(model, name, ctx)
    if ftype is FieldType.NUMBER:
        return _number_gen(name)
    if ftype is FieldType.INTEGER:
        if name in {"score", "nps"}:
            return lambda rng, _i: _below(rng, 11)
        return lambda rng, _i: _below(rng, 100)
    if ftype is FieldType.BOOLEAN:
        return lambda rng, _i: rng.random() < TRUE_SHARE
    if ftype is FieldType.DATETIME:
        dates = ctx.dates
        return lambda rng, _i: _pick(rng, dates)
    if ftype is FieldType.EPOCH_DAY:
        return lambda rng, _i: BASE_EPOCH_DAY - _below(rng, 700)
    if ftype is FieldType.STRINGS:
        pool = CHOICES.get(name, TAGS)
        if name == "domains":
            return lambda _rng, i: [f"{model.name}{i}.example.com"]
        if name.lower().endswith(("ids", "users", "followers", "managers", "timeentries")):
            return lambda rng, _i: [x for x in (ctx.any_id(rng),) if x]
        if name in {"emails", "otherEmails"}:
            return lambda rng, i: [f"billing{i}@example.com"] if rng.random() < TRUE_SHARE else []
        return lambda rng, _i: _some(rng, pool, _below(rng, min(3, len(pool)) + 1))
    if ftype is FieldType.NUMBERS:
        return lambda rng, _i: [round(rng.random() * 100, 2) for _ in range(_below(rng, 4))]
    if ftype is FieldType.OBJECT:
        return lambda rng, _i: {"logins": _below(rng, 500), "seats": _between(rng, 1, 200)}
    if ftype is FieldType.OBJECTS:
        dates = ctx.dates
        return lambda rng, _i: [
            {"action": _pick(rng, WORDS), "date": _pick(rng, dates)} for _ in range(_below(rng, 3))
        ]
    # FieldType.USER_REF: stored as a user id (lists render it as {id, nickName}).
    return lambda rng, _i: _pick(rng, ctx.user_ids) if ctx.user_ids else None


def _custom_gen(type_name: str, field: Record, ctx: _Context) -> Any:  # noqa: PLR0911
    """A value generator for one custom field, by its type."""
    ftype = CUSTOM_FIELD_TYPES[type_name]
    values = field.get("listValues") or list(LIST_VALUES)
    if type_name == "list":
        return lambda rng, _i: _pick(rng, values)
    if type_name == "multipicklist":
        return lambda rng, _i: _some(rng, values, _between(rng, 1, 3))
    if type_name in {"team member", "enduser"}:
        ids = ctx.user_ids if type_name == "team member" else ctx.enduser_ids
        return lambda rng, _i: _pick(rng, ids) if ids else None
    if type_name in {"team members", "endusers"}:
        ids = ctx.user_ids if type_name == "team members" else ctx.enduser_ids
        return lambda rng, _i: _some(rng, ids, _between(rng, 1, 3))
    if type_name == "rating":
        return lambda rng, _i: _between(rng, 1, 6)
    if type_name in {"email", "url", "phone"}:
        return _string_gen(field_model(), type_name, ctx)
    if ftype is FieldType.STRING:
        return lambda rng, _i: f"{_pick(rng, WORDS)} {_pick(rng, WORDS)}"
    return _value_gen(field_model(), type_name, ftype, ctx)


def field_model() -> Model:
    """The custom-field model (used only for generator lookups)."""
    model = find_model("custom_fields")
    if model is None:  # pragma: no cover - the registry always has it
        raise LookupError("custom_fields is missing from the registry")
    return model


class Seeder:
    """Fill a :class:`Store` from a seed and per-model record counts."""

    def __init__(
        self, store: Store, seed: int, records: int, model_records: Mapping[str, int] | None
    ) -> None:
        """Prepare to seed ``store``."""
        self.store = store
        self.rng = random.Random(seed)  # noqa: S311 - reproducible data, not security
        self.ctx = _Context(self.rng)
        self.records = records
        self.model_records = dict(model_records or {})

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
        for model in order:
            self.seed_custom_values(model)

    def seed_custom_values(self, model: Model) -> None:
        """Give seeded records ``custom`` values for their model's custom fields.

        Runs last, so enduser and team-member fields can reference every seeded record.
        """
        customs = self.ctx.custom_fields.get(model.planhat_name)
        if not customs or "custom" not in model.fields:
            return
        rng = self.rng
        gens = [(f["name"], _custom_gen(f["type"], f, self.ctx)) for f in customs]
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
                    "__v": 0,
                }
                if type_name in {"list", "multipicklist"}:
                    record["listValues"] = list(LIST_VALUES)
                if CUSTOM_FIELD_TYPES[type_name] is FieldType.NUMBER:
                    record["numberFormat"] = "decimal"
                    if parent.name == "companies":
                        record["isFormula"] = True
                        record["formula"] = "<<mrr>> * 12"
                coll.insert(record)
                self.ctx.custom_fields.setdefault(parent.planhat_name, []).append(record)

    def seed_model(self, model: Model) -> None:
        """Seed ``count(model)`` records of a record model."""
        rng, ctx, store = self.rng, self.ctx, self.store
        coll = store.collection(model)
        n = self.count(model)
        skip = {"_id", "custom", "__v", model.company_field, company_name_field(model)}
        always = ALWAYS | set(model.required_for_create) | set(model.keyables)
        gens = [
            (name, _value_gen(model, name, ftype, ctx), name in always)
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
            updated = created + (order[i] + 1) * 1000 + _below(rng, 1000)
            for name in stamp_fields:
                is_update = name in {"updatedAt", "lastUpdated", model.replication_key}
                record[name] = iso_ms(updated if is_update else created)
            if "__v" in model.fields:
                record["__v"] = _below(rng, 5)
            if ext_field:
                record[ext_field] = f"{prefix}-{i + 1:06d}"
            if "sourceId" in model.fields:
                record["sourceId"] = f"{model.name}-src-{i + 1}"
            self._finish(model, record, rng, i)
            coll.insert(record)
        self._remember(model, coll.records.values())

    def _finish(self, model: Model, record: Record, rng: random.Random, i: int) -> None:
        """Make related fields coherent (people, company names, company references)."""
        ctx = self.ctx
        if "firstName" in model.fields:
            first, last = _person(rng)
            record["firstName"], record["lastName"] = first, last
            record["name" if "name" in model.fields else "nickName"] = f"{first} {last}"
            if "nickName" in model.fields:
                record["nickName"] = first
            record["email"] = f"{first}.{last}.{i + 1}@{model.name}.example.com".lower()
        elif model.name == "companies":
            record["name"] = _company_name(rng, i)
            record["slug"] = record["name"].lower().replace(" ", "-")
        ref = model.company_field
        if ref and ctx.companies:
            company = ctx.companies[_below(rng, len(ctx.companies))]
            if model.fields.get(ref) is FieldType.STRINGS:
                others = _some(rng, ctx.companies, min(len(ctx.companies), _below(rng, 2)))
                ids = list(dict.fromkeys([company["_id"], *(c["_id"] for c in others)]))
                record[ref] = ids
            else:
                record[ref] = company["_id"]
                name_field = company_name_field(model)
                if name_field:
                    record[name_field] = company.get("name")

    def _remember(self, model: Model, records: Any) -> None:
        """Keep ids that later models reference."""
        if model.name == "users":
            self.ctx.user_ids = [r["_id"] for r in records]
        elif model.name == "companies":
            self.ctx.companies = list(records)
        elif model.name == "endusers":
            recs = list(records)
            self.ctx.enduser_ids = [r["_id"] for r in recs]
            self.ctx.enduser_emails = [r["email"] for r in recs if r.get("email")]

    def seed_dimension_data(self, model: Model) -> None:
        """Three dimensions x seven days x the first five companies."""
        coll = self.store.collection(model)
        company_model = find_model("companies")
        for company in self.ctx.companies[:DIMENSION_COMPANIES]:
            for dimension in DIMENSIONS:
                for back in range(DIMENSION_DAYS):
                    day = BASE_EPOCH_DAY - DIMENSION_DAYS + 1 + back
                    coll.insert(
                        {
                            "_id": self.store.ids.new(),
                            "dimensionId": dimension,
                            "time": iso_ms(day * DAY_MS),
                            "value": float(_below(self.rng, 1000)),
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
