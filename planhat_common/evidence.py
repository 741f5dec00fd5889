"""Public evidence of Planhat's fields: which source shows which field, with which types.

Each file in ``evidence/`` holds what one public source shows (Planhat's developer pages,
Airbyte's schemas, an open-source client), per model and field, in the vocabulary of
:class:`~planhat_common.fieldtypes.Shape`. A field's declared type is the union of its
evidence (``docs/field-types.md``); the registry reads it from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from planhat_common.fieldtypes import FieldType

if TYPE_CHECKING:
    from collections.abc import Mapping

EVIDENCE_DIR = Path(__file__).resolve().with_name("evidence")
#: Evidence models that are another model's records: notes are conversations of type "note"
#: (Planhat's Note page), so what a source shows of notes is evidence for conversations.
SAME_MODEL = MappingProxyType({"notes": "conversations"})


@dataclass(frozen=True)
class Source:
    """One public source: what it is, where it lives, and the fields it shows per model."""

    id: str
    title: str
    url: str
    notes: str
    #: Per model, where in the source its fields come from.
    where: Mapping[str, str]
    #: Per model and field, the type words the source shows.
    fields: Mapping[str, Mapping[str, tuple[str, ...]]]


def _source(data: Mapping[str, Any]) -> Source:
    models = data["models"]
    return Source(
        id=data["source"],
        title=data["title"],
        url=data["url"],
        notes=data.get("notes", ""),
        where=MappingProxyType({m: v["where"] for m, v in models.items()}),
        fields=MappingProxyType(
            {
                model: MappingProxyType({f: tuple(t) for f, t in value["fields"].items()})
                for model, value in models.items()
            }
        ),
    )


@cache
def sources() -> tuple[Source, ...]:
    """Every evidence file, ordered by source id."""
    files = sorted(EVIDENCE_DIR.glob("*.json"))
    return tuple(_source(json.loads(path.read_text(encoding="utf-8"))) for path in files)


def field_evidence(model: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """Per field of ``model`` (a stream name), the type words each source shows, by source id."""
    shown: dict[str, dict[str, tuple[str, ...]]] = {}
    for source in sources():
        for shown_as, fields in source.fields.items():
            if SAME_MODEL.get(shown_as, shown_as) != model:
                continue
            for name, words in fields.items():
                known = shown.setdefault(name, {}).get(source.id, ())
                shown[name][source.id] = tuple(dict.fromkeys((*known, *words)))
    return dict(sorted(shown.items()))


def declared_fields(model: str) -> Mapping[str, FieldType]:
    """The declared type of every field any source shows for ``model``."""
    return MappingProxyType(
        {
            name: FieldType.from_evidence(word for words in by_source.values() for word in words)
            for name, by_source in field_evidence(model).items()
        }
    )
