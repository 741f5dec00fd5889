"""What values a Planhat field may hold: a union of JSON shapes, read from public evidence.

Planhat's data is loosely typed, and the public sources that describe it (Planhat's own pages,
Airbyte's schemas, open-source clients) disagree on some fields: an object where another shows
a string, fractions where another shows whole numbers. A field's type is therefore a *set* of
shapes, the union of what the sources show, normalised by the rules in
``docs/field-types.md`` ("How a declared type is derived").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


class Shape(enum.Enum):
    """One JSON shape a value may have; the names match the evidence files' vocabulary."""

    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    #: An ISO 8601 / RFC 3339 timestamp string.
    DATETIME = "date-time"
    #: Whole days since 1970-01-01 (invoice and timesheet dates).
    EPOCH_DAY = "epoch-day"
    OBJECT = "object"
    #: No type given: any JSON value.
    ANY = "any"
    STRINGS = "array<string>"
    NUMBERS = "array<number>"
    INTEGERS = "array<integer>"
    BOOLEANS = "array<boolean>"
    OBJECTS = "array<object>"
    #: An array whose items' type is not given.
    ARRAY = "array<any>"

    @property
    def item(self) -> Shape | None:
        """The shape of an array's items, or ``None`` for a shape that is not an array."""
        return _ITEM.get(self)

    @property
    def is_array(self) -> bool:
        """Whether this shape is an array."""
        return self in _ITEM


_ITEM = {
    Shape.STRINGS: Shape.STRING,
    Shape.NUMBERS: Shape.NUMBER,
    Shape.INTEGERS: Shape.INTEGER,
    Shape.BOOLEANS: Shape.BOOLEAN,
    Shape.OBJECTS: Shape.OBJECT,
    Shape.ARRAY: Shape.ANY,
}
_ARRAY_OF = {item: array for array, item in _ITEM.items()}
#: Evidence words that are spellings of a shape.
_ALIASES = {"date": Shape.DATETIME}
#: Where both shapes are shown, the first one says all the second one does, and more.
#: A timestamp is a string in JSON, so a source saying "string" does not contradict one
#: saying "date-time"; "integer" is a subset of "number"; an epoch day is an integer.
_REFINES = (
    (Shape.NUMBER, Shape.INTEGER),
    (Shape.NUMBER, Shape.EPOCH_DAY),
    (Shape.EPOCH_DAY, Shape.INTEGER),
    (Shape.DATETIME, Shape.STRING),
)


def parse_shape(word: str) -> Shape:
    """The shape an evidence file's type word names (``"date"`` reads as a timestamp)."""
    return _ALIASES.get(word) or Shape(word)


@dataclass(frozen=True)
class FieldType:
    """The shapes one field may hold (``null`` always allowed)."""

    shapes: frozenset[Shape]

    @classmethod
    def of(cls, *shapes: Shape) -> FieldType:
        """The declared type of a field shown with ``shapes``: their normalised union."""
        return cls(_normalise(shapes))

    @classmethod
    def from_evidence(cls, words: Iterable[str]) -> FieldType:
        """The declared type for the union of evidence type words (``"array<string>"``...)."""
        return cls.of(*(parse_shape(word) for word in words))

    def __or__(self, other: FieldType) -> FieldType:
        """The union of two declared types."""
        return FieldType.of(*self.shapes, *other.shapes)

    def __str__(self) -> str:
        return "|".join(sorted(shape.value for shape in self.shapes))

    @property
    def scalars(self) -> frozenset[Shape]:
        """Shapes allowed for the value itself, arrays aside."""
        return frozenset(s for s in self.shapes if not s.is_array)

    @property
    def items(self) -> frozenset[Shape] | None:
        """Shapes allowed for array items, or ``None`` when the field is never an array."""
        items = frozenset(s.item for s in self.shapes if s.item is not None)
        return items or None

    @property
    def is_union(self) -> bool:
        """Whether sources disagree on the field's JSON type (e.g. string or object)."""
        return len(self.shapes) > 1 or Shape.ANY in self.shapes


def _normalise(shapes: Iterable[Shape]) -> frozenset[Shape]:
    shapes = set(shapes)
    if not shapes:
        return frozenset({Shape.ANY})
    # "any" and "array<any>" say a source did not type the field: no evidence when another does.
    if len(shapes) > 1:
        shapes.discard(Shape.ANY)
    if Shape.ARRAY in shapes and any(s.is_array for s in shapes - {Shape.ARRAY}):
        shapes.discard(Shape.ARRAY)
    scalars = {s for s in shapes if not s.is_array}
    items = {s.item for s in shapes if s.item is not None}
    return frozenset(_refined(scalars) | {_ARRAY_OF[item] for item in _refined(items)})


def _refined(shapes: set[Shape]) -> set[Shape]:
    for wider, narrower in _REFINES:
        if wider in shapes and narrower in shapes:
            shapes = shapes - {narrower}
    return shapes


S = FieldType.of(Shape.STRING)
N = FieldType.of(Shape.NUMBER)
INT = FieldType.of(Shape.INTEGER)
B = FieldType.of(Shape.BOOLEAN)
DT = FieldType.of(Shape.DATETIME)
ED = FieldType.of(Shape.EPOCH_DAY)
OBJ = FieldType.of(Shape.OBJECT)
SS = FieldType.of(Shape.STRINGS)
ANY = FieldType.of(Shape.ANY)
