"""Make every record valid against its stream's SCHEMA, losing nothing.

Planhat's data is loosely typed (docs/field-types.md). For each declared field, top level and
typed custom fields alike, a value is either

* kept, when it fits one of the field's declared types;
* converted, when a lossless conversion makes it fit (:mod:`tap_planhat.conversions`);
* or rescued: moved under the same path into ``_rescued_data`` (:mod:`planhat_common.rescued`),
  with the field set to null, and counted.

The tap's own columns (``_rescued_data``, and ``_sdc_*`` as Singer reserves them) are never
taken from Planhat: a record from Planhat that has a field of such a name has it moved into the
tap's ``_rescued_data`` under that same name (the field itself dropped), and counted. So the
rescue column holds only the tap's rescues, and ``_sdc_deleted_at`` only the tap's deletions.

At the end of a stream, :meth:`Coercer.report` logs one warning per field that had rescued
values, with the count and the first record's ``_id``.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from planhat_common.fieldtypes import OBJ
from planhat_common.rescued import CUSTOM, RESCUED
from planhat_common.singer_columns import SDC_PREFIX
from tap_planhat.conversions import NO_FIT, FieldCheck

if TYPE_CHECKING:
    from collections.abc import Mapping

    from planhat_common.fieldtypes import FieldType

LOGGER = logging.getLogger("tap-planhat")


def is_reserved(name: str) -> bool:
    """Whether a top-level ``name`` is a column of the tap's own, never Planhat's."""
    return name == RESCUED or name.startswith(SDC_PREFIX)


#: Fits no field: an undeclared field's values all take the slow path (and are noted).
_NOTHING: frozenset[type] = frozenset()
#: ``(quick timestamp match or None, fine item types or None, fixes by type)`` of one field
#: (see FieldCheck): what a value not of a fine type goes through.
_Rule = tuple[Any, "frozenset[type] | None", "dict[type, Any]"]


class _Plan:
    """One level's checks (the record, or its ``custom``), laid out for the hot loop."""

    def __init__(self, checks: Mapping[str, FieldCheck]) -> None:
        #: Per field, the types that fit as they are: one lookup settles most values.
        self.fine = {name: check.fine for name, check in checks.items()}
        self.rules: dict[str, _Rule] = {
            name: (check.quick_timestamp, check.item_fine, check.fixes)
            for name, check in checks.items()
        }


def _checks(fields: Mapping[str, FieldType], *, unions_as_text: bool) -> dict[str, FieldCheck]:
    return {
        name: FieldCheck(field_type, as_text=unions_as_text and field_type.is_union)
        for name, field_type in fields.items()
    }


class Coercer:
    """Checks, converts or rescues the declared fields of one stream's records, in place."""

    def __init__(
        self,
        stream: str,
        fields: Mapping[str, FieldType],
        custom: Mapping[str, FieldType] | None,
        *,
        unions_as_text: bool = False,
        report_undeclared: bool = True,
    ) -> None:
        """Remember the declared types of top-level and ``custom`` fields.

        With ``unions_as_text``, values of union-typed fields are emitted as JSON text
        (after the same check, conversion or rescue). Without ``report_undeclared``, fields
        no source declares are not listed at the end (flattening moves them and says so,
        flattening.py).
        """
        self.stream = stream
        self.report_undeclared = report_undeclared
        declared = {k: v for k, v in fields.items() if k != "_id" and not is_reserved(k)}
        if custom:
            declared.setdefault(CUSTOM, OBJ)  # the tenant defines custom fields for the model
        self._checks = _checks(declared, unions_as_text=unions_as_text)
        self._custom_checks = _checks(custom or {}, unions_as_text=unions_as_text)
        # Per field, what fits with no call at all (FieldCheck): a set lookup or two per value
        # on the hot path, worked out once per schema.
        self._plan = _Plan(self._checks)
        self._custom_plan = _Plan(self._custom_checks)
        self.rescued: Counter[str] = Counter()
        self._first: dict[str, tuple[Any, Any]] = {}
        self.undeclared: set[str] = set()
        #: Reserved names found in the record being coerced (is_reserved).
        self._reserved: list[str] = []

    def __call__(self, record: dict[str, Any]) -> dict[str, Any]:
        """Coerce ``record`` (as it came from Planhat) in place and return it."""
        rescued: dict[str, Any] = {}
        self._coerce(record, self._plan, rescued, None)
        if self._reserved:  # taken out after the loop: a dict cannot lose keys while iterated
            for name in self._reserved:
                rescued[name] = record.pop(name)
            self._reserved.clear()
        custom = record.get(CUSTOM)
        if self._custom_checks and type(custom) is dict:
            self._coerce(custom, self._custom_plan, rescued, CUSTOM)
        if rescued:
            self._keep(record, rescued)
        return record

    def _coerce(
        self,
        values: dict[str, Any],
        plan: _Plan,
        rescued: dict[str, Any],
        parent: str | None,
    ) -> None:
        """Check every declared value of ``values`` (the record, or its ``custom``)."""
        # The checks are inlined: this loop runs for every value of every record, and most
        # values end at the first test.
        fine = plan.fine.get
        for name, value in values.items():
            kind = type(value)
            if kind in fine(name, _NOTHING):
                continue
            rule = plan.rules.get(name)
            if rule is None:
                if parent is None and name not in self.undeclared and name != "_id":
                    self._undeclared(name)  # rare: once a field, or a reserved name
                continue
            if kind is str:
                if rule[0] is not None and rule[0](value) is not None:
                    continue
            elif kind is list and rule[1] is not None and rule[1].issuperset(map(type, value)):
                continue
            fix = rule[2].get(kind)
            fixed = NO_FIT if fix is None else fix(value)
            if fixed is value:
                continue
            if fixed is not NO_FIT:
                # Replacing the value of a key while iterating is safe: the keys stay.
                values[name] = fixed
            else:
                self._rescue(values, name, rescued, parent)

    def _undeclared(self, name: str) -> None:
        """A top-level field no source declares: noted, or (a reserved name) to be rescued."""
        if is_reserved(name):
            self._reserved.append(name)
        else:
            self.undeclared.add(name)

    @staticmethod
    def _rescue(
        values: dict[str, Any], name: str, rescued: dict[str, Any], parent: str | None
    ) -> None:
        """Null ``values[name]`` and note its value in ``rescued``."""
        value = values[name]
        values[name] = None
        if parent is None:
            rescued[name] = value
        else:
            rescued.setdefault(parent, {})[name] = value

    def _keep(self, record: dict[str, Any], rescued: dict[str, Any]) -> None:
        """Attach ``rescued`` to the record and count it per field path."""
        record_id = record.get("_id")
        for name, value in rescued.items():
            nested = value if name == CUSTOM and type(value) is dict else None
            for path, original in (
                ((f"{CUSTOM}.{k}", v) for k, v in nested.items()) if nested else ((name, value),)
            ):
                self.rescued[path] += 1
                self._first.setdefault(path, (record_id, original))
        record[RESCUED] = rescued  # Planhat's own field of that name is in it (is_reserved)

    def report(self) -> None:
        """Log, once per field, how many values were rescued this run; then start over."""
        for path, count in sorted(self.rescued.items()):
            record_id, value = self._first[path]
            if is_reserved(path):
                LOGGER.warning(
                    "Stream '%s': %d record(s) from Planhat have a field '%s', a name the tap "
                    "keeps for its own column, first in record _id=%s. Their values are kept "
                    "in '%s' under that name.",
                    self.stream,
                    count,
                    path,
                    record_id,
                    RESCUED,
                )
                continue
            check = self._field_check(path)
            LOGGER.warning(
                "Stream '%s', field '%s': %d value(s) fit none of its declared types (%s), "
                "first in record _id=%s (%s %.60r). They are kept in '%s' and the field is "
                "null in those records.",
                self.stream,
                path,
                count,
                check.field_type if check else "?",
                record_id,
                type(value).__name__,
                value,
                RESCUED,
            )
        if self.undeclared and self.report_undeclared:
            LOGGER.info(
                "Stream '%s': fields no public source declares were passed through as they "
                "came (loaders that build columns from the SCHEMA leave them out): %s.",
                self.stream,
                ", ".join(sorted(self.undeclared)),
            )
        self.rescued.clear()
        self._first.clear()
        self.undeclared.clear()

    def _field_check(self, path: str) -> FieldCheck | None:
        if path.startswith(CUSTOM + "."):
            return self._custom_checks.get(path[len(CUSTOM) + 1 :])
        return self._checks.get(path)
