"""Columns naming another record by one of its keyables, such as a line item's deal.

A warehouse knows a line item's deal by the deal's own id (its ``externalId`` or ``sourceId``
in Planhat), not by Planhat's ``_id``. For each reference of a model (``Model.references``:
``dealId`` -> deals) the target accepts a column per keyable of the referenced model:
``dealExternalId``, ``dealSourceId`` (in any warehouse spelling, see fieldnames.py). Planhat
documents the ``extid-``/``srcid-`` prefixes for company references only (docs/writes.md), so
such a column is resolved to the ``_id`` through a key scan (references.py), never sent as a
prefix. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from planhat_common.registry import get_model

if TYPE_CHECKING:
    from collections.abc import Mapping

    from planhat_common.registry import Model


@dataclass(frozen=True)
class ReferenceColumn:
    """A column naming another record: which field it fills, from which model's keyable."""

    column: str
    #: The field Planhat takes (``dealId``).
    field: str
    #: The model the column names a record of.
    target: Model
    #: The target's keyable the column holds (``externalId``).
    keyable: str


@cache
def reference_columns(model: Model) -> Mapping[str, ReferenceColumn]:
    """Column name -> what it references, for every reference of ``model``."""
    columns: dict[str, ReferenceColumn] = {}
    for field_name, target_name in model.references:
        target = get_model(target_name)
        prefix = field_name.removesuffix("Id")
        for keyable in target.keyables:
            if keyable != "_id":
                column = prefix + keyable[0].upper() + keyable[1:]
                columns[column] = ReferenceColumn(column, field_name, target, keyable)
    return columns


def take_reference_columns(record: dict[str, Any], model: Model) -> dict[str, Any]:
    """Pop the reference columns with a value; a reference given as ``_id`` keeps only that."""
    taken: dict[str, Any] = {}
    for column, reference in reference_columns(model).items():
        value = record.pop(column, None)
        if value in (None, "") or record.get(reference.field) not in (None, ""):
            continue
        taken[column] = value
    return taken
