"""Seed values in every shape public evidence shows for a field, quirks included.

A field's declared type is a union of shapes (``planhat_common.fieldtypes``). The sandbox
serves every one of them, as a real tenant may: a field shown as a string or an object gets
both, numbers get fractions, arrays get strings or objects. On top of that, a small share of
values come the way Planhat is known to spell them loosely (docs/field-types.md): numbers and
booleans as strings, timestamps as epoch milliseconds or bare dates, epoch days as dates. A
smaller share of a few fields' values fits no declared type at all (``"n/a"`` in company health
and in number custom fields), so the tap's rescue path runs in every demo, test and benchmark.

Name hints only make values look real (names, currencies, ids of seeded records).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from planhat_common.fieldtypes import Shape
from planhat_sandbox.store import iso_ms
from planhat_sandbox.words import (
    CHOICES,
    CITIES,
    COMPANY_A,
    COUNTRIES,
    CURRENCIES,
    DEFAULT_STATUSES,
    FIRST,
    LAST,
    PRODUCTS,
    STATUSES,
    TAGS,
    WORDS,
)

if TYPE_CHECKING:
    import random
    from collections.abc import Sequence

    from planhat_common.fieldtypes import FieldType
    from planhat_common.registry import Model

#: Seeded "now": 2024-01-01T00:00:00.000Z. Seed timestamps lie before it; contract ends and
#: renewals around it (SEEDED_TODAY is what analytics over seeded data should call today).
BASE_MS = 1_704_067_200_000
BASE_EPOCH_DAY = 19723
SEEDED_TODAY = "2024-01-01"
DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
TRUE_SHARE = 0.3
#: Share of values spelled loosely (converted losslessly by the tap).
QUIRK_SHARE = 0.04
#: Share of values that fit none of their field's declared types (rescued by the tap).
UNFIT_SHARE = 0.01
#: Top-level fields (stream, field) that sometimes hold such a value.
UNFIT_FIELDS = frozenset({("companies", "h"), ("endusers", "relevance")})
UNFIT_TEXT = "n/a"


class Pools:
    """Ids, names and dates of already-seeded records that later values reference."""

    def __init__(self, rng: random.Random) -> None:
        """Start with dates only; the seeder fills the id pools model by model."""
        self.user_ids: list[str] = []
        self.enduser_ids: list[str] = []
        self.enduser_emails: list[str] = []
        self.dates = [
            iso_ms(BASE_MS - below(rng, 3 * YEAR_MS) + below(rng, DAY_MS)) for _ in range(4096)
        ]

    def any_id(self, rng: random.Random) -> str:
        """A seeded user's (else enduser's) id; an id of no record before any is seeded."""
        pool = self.user_ids or self.enduser_ids
        return pick(rng, pool) if pool else f"{rng.getrandbits(96):024x}"


def pick(rng: random.Random, pool: Sequence[Any]) -> Any:
    """One item of ``pool``."""
    return pool[int(rng.random() * len(pool))]


def below(rng: random.Random, n: int) -> int:
    """A whole number in ``[0, n)``."""
    return int(rng.random() * n)


def between(rng: random.Random, low: int, high: int) -> int:
    """A whole number in ``[low, high)``."""
    return low + int(rng.random() * (high - low))


def some(rng: random.Random, pool: Sequence[Any], k: int) -> list[Any]:
    """``k`` distinct items of ``pool`` (a rotated slice: cheaper than ``random.sample``)."""
    start = int(rng.random() * len(pool)) if pool else 0
    return [pool[(start + j) % len(pool)] for j in range(min(k, len(pool)))]


def person(rng: random.Random) -> tuple[str, str]:
    """A first and a last name."""
    return pick(rng, FIRST), pick(rng, LAST)


def _string_gen(model: Model, name: str, pools: Pools) -> Any:  # noqa: C901, PLR0911, PLR0912
    lname = name.lower()
    if name in CHOICES:
        choices = CHOICES[name]
        return lambda rng, _i: pick(rng, choices)
    if name == "status":
        statuses = STATUSES.get(model.name, DEFAULT_STATUSES)
        return lambda rng, _i: pick(rng, statuses)
    if "currency" in lname:
        return lambda rng, _i: pick(rng, CURRENCIES)
    if name == "product":
        return lambda rng, _i: pick(rng, PRODUCTS)
    if name == "city":
        return lambda rng, _i: pick(rng, CITIES)
    if name in {"country", "addressCountry"}:
        return lambda rng, _i: pick(rng, COUNTRIES)
    if name in {"web", "url", "sourceUrl", "image"}:
        return lambda rng, i: f"https://{pick(rng, COMPANY_A).lower()}{i}.example.com"
    if name == "phone":
        return lambda rng, _i: f"+46 8 {between(rng, 100, 999)} {between(rng, 1000, 9999)}"
    if "email" in lname:
        return lambda rng, i: (
            pick(rng, pools.enduser_emails) if pools.enduser_emails else f"contact{i}@example.com"
        )
    if name == "name":
        label = model.planhat_name
        return lambda rng, i: f"{pick(rng, WORDS).title()} {label} {i + 1}"
    if lname.endswith("name"):
        return lambda rng, _i: " ".join(person(rng))
    if lname.endswith("id") or name in {"owner", "coOwner", "approvedBy", "doneBy", "parent"}:
        return lambda rng, _i: pools.any_id(rng)
    if name == "zip":
        return lambda rng, _i: f"{between(rng, 10000, 99999)}"
    return lambda rng, _i: " ".join(pick(rng, WORDS) for _ in range(between(rng, 1, 5)))


def _number_gen(name: str) -> Any:
    lname = name.lower()
    if name == "score":  # an NPS answer, 0-10, whatever type the evidence declares
        return lambda rng, _i: below(rng, 11)
    if name in {"h", "health", "csmScore"}:
        return lambda rng, _i: round(rng.uniform(1, 10), 2)
    if "probability" in lname or "rate" in lname or lname.startswith("percent"):
        return lambda rng, _i: round(rng.random() * 100, 1)
    if name in {"hours", "timeSpent"}:
        return lambda rng, _i: round(rng.uniform(0.5, 8), 1)
    return lambda rng, _i: round(rng.random() * 50_000, 2)


def _integer_gen(name: str) -> Any:
    if name in {"score", "nps"}:
        return lambda rng, _i: below(rng, 11)
    return lambda rng, _i: below(rng, 100)


def _strings_gen(model: Model, name: str, pools: Pools) -> Any:
    lname = name.lower()
    if name == "domains":
        return lambda _rng, i: [f"{model.name}{i}.example.com"]
    if lname.endswith(("ids", "users", "followers", "managers", "timeentries", "endusers")):
        return lambda rng, _i: [pools.any_id(rng)]
    if name in {"emails", "otherEmails"}:
        return lambda rng, i: [f"billing{i}@example.com"] if rng.random() < TRUE_SHARE else []
    choices = CHOICES.get(name, TAGS)
    return lambda rng, _i: some(rng, choices, below(rng, min(3, len(choices)) + 1))


def _any_value(rng: random.Random, pools: Pools) -> Any:
    return pick(rng, ("text", 12.5, 3, True, {"kind": "note"}, ["a", 1], pick(rng, pools.dates)))


def _object_gen(model: Model, name: str, pools: Pools) -> Any:
    if name == "usage" or "custom" in name.lower():
        return lambda rng, _i: {"logins": below(rng, 500), "seats": between(rng, 1, 200)}
    text = _string_gen(model, name, pools)
    return lambda rng, i: {"id": text(rng, i), "label": pick(rng, WORDS)}


def _objects_gen(pools: Pools) -> Any:
    dates = pools.dates
    return lambda rng, _i: [
        {"action": pick(rng, WORDS), "date": pick(rng, dates)} for _ in range(below(rng, 3))
    ]


def shape_gen(model: Model, name: str, shape: Shape, pools: Pools) -> Any:
    """A generator of values of one ``shape`` for field ``name``."""
    by_name = {
        Shape.STRING: lambda: _string_gen(model, name, pools),
        Shape.NUMBER: lambda: _number_gen(name),
        Shape.INTEGER: lambda: _integer_gen(name),
        Shape.OBJECT: lambda: _object_gen(model, name, pools),
        Shape.STRINGS: lambda: _strings_gen(model, name, pools),
        Shape.OBJECTS: lambda: _objects_gen(pools),
    }
    if shape in by_name:
        return by_name[shape]()
    dates = pools.dates
    plain: dict[Shape, Any] = {
        Shape.BOOLEAN: lambda rng, _i: rng.random() < TRUE_SHARE,
        Shape.DATETIME: lambda rng, _i: pick(rng, dates),
        Shape.EPOCH_DAY: lambda rng, _i: BASE_EPOCH_DAY - below(rng, 700),
        Shape.NUMBERS: lambda rng, _i: [below(rng, 100) for _ in range(below(rng, 4))],
        Shape.INTEGERS: lambda rng, _i: [below(rng, 100) for _ in range(below(rng, 4))],
        Shape.BOOLEANS: lambda rng, _i: [rng.random() < TRUE_SHARE for _ in range(below(rng, 3))],
        Shape.ARRAY: lambda rng, _i: [_any_value(rng, pools) for _ in range(below(rng, 3))],
    }
    return plain.get(shape, lambda rng, _i: _any_value(rng, pools))


def _loosely_spelled(value: Any, shapes: frozenset[Shape]) -> Any:
    """``value`` spelled the way Planhat sometimes spells it, if the field has such a quirk."""
    if type(value) in {int, float} and Shape.STRING not in shapes:
        if Shape.EPOCH_DAY in shapes:
            return iso_ms(value * DAY_MS)[:10]  # an epoch day as a date
        return str(value)  # a number as a string
    if type(value) is bool and Shape.STRING not in shapes:
        return "true" if value else "false"
    if type(value) is str and Shape.DATETIME in shapes and Shape.STRING not in shapes:
        instant = dt.datetime.fromisoformat(value)
        if instant.microsecond // 1000 % 2:
            return value[:10]  # a bare date
        return round(instant.timestamp() * 1000)  # epoch milliseconds
    return value


def _unfit(shapes: frozenset[Shape]) -> Any:
    """A value of none of ``shapes``: rescued, not dropped, by the tap."""
    if Shape.ANY in shapes:
        return None  # anything fits
    if Shape.STRING in shapes or Shape.DATETIME in shapes:
        return {"unexpected": UNFIT_TEXT} if Shape.OBJECT not in shapes else [[UNFIT_TEXT]]
    return UNFIT_TEXT


#: The order shapes are tried in; a plain field keeps the first of its shapes.
_PLAIN_FIRST = [
    Shape.STRING,
    Shape.DATETIME,
    Shape.EPOCH_DAY,
    Shape.INTEGER,
    Shape.NUMBER,
    Shape.BOOLEAN,
    Shape.STRINGS,
    Shape.OBJECT,
    Shape.OBJECTS,
    Shape.NUMBERS,
    Shape.INTEGERS,
    Shape.BOOLEANS,
    Shape.ARRAY,
    Shape.ANY,
]


def field_gen(
    model: Model,
    name: str,
    field_type: FieldType,
    pools: Pools,
    *,
    plain: bool,
    unfit: bool = False,
) -> Any:
    """A generator for field ``name``: every declared shape, quirks unless ``plain``.

    ``plain`` fields (keys, references, timestamps the sandbox sorts on) keep their first
    shape and are never spelled loosely; ``unfit`` fields sometimes hold a value of no
    declared type.
    """
    shapes = sorted(field_type.shapes, key=_PLAIN_FIRST.index)
    gens = [shape_gen(model, name, shape, pools) for shape in shapes]
    if plain:
        return gens[0]
    declared = field_type.shapes
    unfit_share = UNFIT_SHARE if unfit else 0.0

    def generate(rng: random.Random, i: int) -> Any:
        roll = rng.random()
        value = gens[int(rng.random() * len(gens))](rng, i)
        if roll < unfit_share:
            other = _unfit(declared)
            return value if other is None else other
        if roll < unfit_share + QUIRK_SHARE:
            return _loosely_spelled(value, declared)
        return value

    return generate
