"""Input columns as warehouses spell them, matched to Planhat's field names.

Warehouses rarely keep Planhat's camelCase: Postgres folds unquoted names to lower case
(``externalid``), Snowflake to upper case (``EXTERNALID``), dbt models are snake_case
(``external_id``, ``company_external_id``). A column matches a standard field of the model
(or a reference column such as ``companyExternalId``) when it is spelled the same, or the same
up to case and the separators ``_``, ``-``, space and ``.``.

Custom field names are case-sensitive in Planhat. A column that is not a standard field
matches a custom field defined for the model (``/customfields``) spelled the same, else
spelled the same up to case and separators when exactly one definition does; anything else
keeps its name. See docs/target.md, "Field names from warehouses".

Everything here is pure: the sinks compute a :class:`ColumnMap` once per SCHEMA message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

_SEPARATORS = re.compile(r"[\s_\-.]+")


class ColumnClashError(ValueError):
    """Two input columns name the same Planhat field."""


def fold(name: str) -> str:
    """A name without case and separators: ``external_id``, ``EXTERNALID`` -> ``externalid``.

    Leading underscores are kept, so ``_id`` stays apart from a column named ``id``.
    """
    stripped = name.lstrip("_")
    return name[: len(name) - len(stripped)] + _SEPARATORS.sub("", stripped).lower()


def _unambiguous(names: Iterable[str]) -> dict[str, str]:
    """``fold(name) -> name`` for names no other name folds to."""
    found: dict[str, str | None] = {}
    for name in names:
        folded = fold(name)
        found[folded] = None if folded in found and found[folded] != name else name
    return {k: v for k, v in found.items() if v is not None}


@dataclass(frozen=True)
class ColumnMap:
    """How one stream's input columns map to Planhat field names."""

    #: Input column -> standard (or reference) field name, where they differ.
    standard: Mapping[str, str] = field(default_factory=dict)
    #: Input column -> custom field name, where they differ.
    custom: Mapping[str, str] = field(default_factory=dict)
    #: Non-standard columns no custom field definition matches (sent under their own name).
    undefined_custom: tuple[str, ...] = ()

    @property
    def renames(self) -> dict[str, str]:
        """Every rename, standard and custom."""
        return {**self.custom, **self.standard}

    def field_of(self, column: str) -> str:
        """The field an input column names (itself when nothing maps it)."""
        return self.standard.get(column) or self.custom.get(column) or column


def map_columns(
    columns: Iterable[str],
    standard_fields: Iterable[str],
    custom_fields: Iterable[str] | None = None,
) -> ColumnMap:
    """Match ``columns`` to ``standard_fields``, then the rest to ``custom_fields``.

    ``custom_fields`` is None when the tenant's definitions were not read (no rename).

    Raises:
        ColumnClashError: two columns name the same field.
    """
    standard = set(standard_fields)
    by_fold = _unambiguous(standard)
    renames: dict[str, str] = {}
    rest: list[str] = []
    columns = list(columns)
    for column in columns:
        target = column if column in standard else by_fold.get(fold(column))
        if target is None or column.startswith("_sdc_"):
            rest.append(column)
        elif target != column:
            renames[column] = target
    _check_clashes(columns, renames)
    if custom_fields is None:
        return ColumnMap(standard=renames)
    defined = set(custom_fields)
    custom_by_fold = _unambiguous(defined)
    custom: dict[str, str] = {}
    undefined: list[str] = []
    for column in rest:
        if column.startswith("_"):
            continue
        target = column if column in defined else custom_by_fold.get(fold(column))
        if target is None:
            undefined.append(column)
        elif target != column:
            custom[column] = target
    _check_clashes(rest, custom)
    return ColumnMap(standard=renames, custom=custom, undefined_custom=tuple(undefined))


def _check_clashes(columns: list[str], renames: Mapping[str, str]) -> None:
    seen: dict[str, str] = {}
    for column in columns:
        target = renames.get(column, column)
        if target in seen:
            raise ColumnClashError(
                f"columns '{seen[target]}' and '{column}' both name the field '{target}'; "
                "drop or rename one (a stream map with `<column>: __NULL__` drops it)"
            )
        seen[target] = column
