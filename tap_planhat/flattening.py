"""Flattened output (``flattening_enabled``) in which every record key is a SCHEMA column.

singer-sdk 0.54 flattens the SCHEMA and each RECORD by different rules
(``singer_sdk/helpers/_flattening.py``):

* the SCHEMA: above the depth limit, an object property that declares ``properties`` becomes
  one column per declared property, so an open object that declares none (``usage``,
  ``features``, ``_rescued_data``: ``"properties": {}``) becomes no column at all. At the
  limit, objects and arrays become one column of JSON text;
* a RECORD: above the depth limit, any object value whose key is not a column of the
  flattened SCHEMA is split into one key per item it holds, declared or not; every other
  value keeps its key, columns or not.

So an open object's items come as ``usage__logins``, a null there as ``usage``, an
undeclared custom field as ``custom__Seats`` and a field no source declares as itself: none
of them columns, which loaders that build their columns from the SCHEMA refuse or drop.

The tap makes both sides agree through the SDK's public hooks (docs/field-types.md,
"Flattening"):

* :func:`flattenable_schema` is the stream's schema when flattening is on: an object that
  declares no properties loses the empty ``properties``, so the SDK makes it one column of
  JSON text, as at the depth limit;
* :class:`FlatShaper` (the stream's ``post_process``) shapes each record so that the SDK's
  flattening yields declared columns only: a key its level of the schema does not declare is
  moved, under the same path, into ``_rescued_data`` (itself one JSON text column), as is a
  value that is not an object where the schema splits one into columns; a null there is
  dropped (its columns are then null).
"""

from __future__ import annotations

import copy
from collections import Counter
from typing import TYPE_CHECKING, Any

from planhat_common.errors import SettingsError
from planhat_common.rescued import RESCUED

if TYPE_CHECKING:
    import logging
    from collections.abc import Mapping


def flattening_depth(config: Mapping[str, Any]) -> int | None:
    """How deep the SDK flattens (``flattening_max_depth``), or None when it does not.

    The SDK flattens only when it is enabled with a depth above 0.
    """
    if not config.get("flattening_enabled"):
        return None
    depth = int(config.get("flattening_max_depth") or 0)
    return depth if depth > 0 else None


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def splits(schema: Mapping[str, Any], level: int, depth: int) -> bool:
    """Whether the SDK makes a property at ``level`` into one column per declared property.

    Its rule, read from ``_flatten_schema``: typed as an object (among others), with
    ``properties``, above the depth limit.
    """
    return "object" in _types(schema) and "properties" in schema and level < depth


def flattenable_schema(schema: dict[str, Any], depth: int) -> dict[str, Any]:
    """``schema`` with every object the SDK would split into no column made one JSON column.

    Only objects that declare properties and hold nothing but objects (or null) are split:
    one that may also hold a string or a number is one column too, as the SDK's record
    flattening would keep such a value under the object's own key.
    """
    result = copy.deepcopy(schema)
    _prepare(result["properties"], 0, depth)
    return result


def _prepare(properties: dict[str, Any], level: int, depth: int) -> None:
    for prop in properties.values():
        if not splits(prop, level, depth):
            continue
        if prop["properties"] and set(_types(prop)) <= {"object", "null"}:
            _prepare(prop["properties"], level + 1, depth)
        else:
            del prop["properties"]


class _Level:
    """One object level of the schema: its keys, and those the SDK splits into columns."""

    def __init__(self, properties: Mapping[str, Any], level: int, depth: int) -> None:
        self.declared = frozenset(properties)
        self.split = {
            name: _Level(prop["properties"], level + 1, depth)
            for name, prop in properties.items()
            if splits(prop, level, depth)
        }


_MISSING = object()


class FlatShaper:
    """Shapes records, in place, so that the SDK's flattening gives declared columns only."""

    def __init__(self, stream: str, schema: Mapping[str, Any], depth: int) -> None:
        """Shape for ``schema`` (the stream's effective one) flattened to ``depth`` levels.

        Raises:
            SettingsError: the schema splits ``_rescued_data`` into columns, so it could not
                hold what a record has beyond its SCHEMA. Such a catalog was discovered
                with other flattening settings than the run's.
        """
        self.stream = stream
        self._top = _Level(schema.get("properties", {}), 0, depth)
        if RESCUED not in self._top.declared or RESCUED in self._top.split:
            raise SettingsError(
                f"Stream '{stream}': the catalog's schema has no single '{RESCUED}' column "
                "to keep fields its schema lacks once records are flattened: it was "
                "discovered with other flattening settings. Discover it again with the "
                "settings of this run (Meltano: meltano run --refresh-catalog ...)."
            )
        #: Per path (``custom.Seats``), how many values were moved into ``_rescued_data``.
        self.moved: Counter[str] = Counter()

    def __call__(self, record: dict[str, Any]) -> dict[str, Any]:
        """Shape ``record`` in place and return it."""
        moved: list[tuple[tuple[str, ...], Any]] = []
        self._shape(record, self._top, (), moved)
        if moved:
            self._keep(record, moved)
        return record

    def _shape(
        self,
        values: dict[str, Any],
        level: _Level,
        path: tuple[str, ...],
        moved: list[tuple[tuple[str, ...], Any]],
    ) -> None:
        # One set difference settles most records: every key declared.
        moved.extend(((*path, name), values.pop(name)) for name in values.keys() - level.declared)
        for name, inner in level.split.items():
            value = values.get(name, _MISSING)
            if type(value) is dict:
                self._shape(value, inner, (*path, name), moved)
            elif value is None:
                del values[name]  # its columns are null; the key itself is not a column
            elif value is not _MISSING:
                moved.append(((*path, name), values.pop(name)))

    def _keep(self, record: dict[str, Any], moved: list[tuple[tuple[str, ...], Any]]) -> None:
        """Put the moved values into the record's ``_rescued_data``, under their paths.

        The coercer's rescued values are there already (coerce.py); no path is in both, as
        it rescues declared fields only. A path whose parent holds something else than an
        object is kept under its dotted name instead, so nothing is overwritten.
        """
        rescued = record.get(RESCUED)
        if rescued is None:
            rescued = record[RESCUED] = {}
        for path, value in moved:
            dotted = ".".join(path)
            self.moved[dotted] += 1
            node = rescued
            for part in path[:-1]:
                node = node.setdefault(part, {}) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node[path[-1]] = value
            else:
                rescued[dotted] = value

    def report(self, logger: logging.Logger) -> None:
        """Log, once, which fields were kept in ``_rescued_data``; then start over."""
        if self.moved:
            logger.info(
                "Stream '%s': with flattening on, fields its SCHEMA does not declare are kept "
                "as JSON in the '%s' column: %s.",
                self.stream,
                RESCUED,
                ", ".join(f"{path} ({count})" for path, count in sorted(self.moved.items())),
            )
        self.moved.clear()
