"""Record validation at the speed of the API: a compiled fast path, jsonschema for the rest.

The SDK validates every record with ``jsonschema`` (Draft 2020-12), which walks the schema
per record and costs more than everything else the target does. :class:`FastValidator`
compiles the schema once into plain checks for the keywords taps emit (``type``,
``properties``, ``additionalProperties``, ``required``, ``items``, ``enum``, ``anyOf``,
``allOf``; annotations such as ``format`` without format checking are ignored, exactly as
jsonschema ignores them). A check only ever answers "certainly valid" or "not sure": a record
it is not sure about, or any schema part it does not know, goes to the SDK's own
``JSONSchemaValidator``, which decides and words the error. So the outcome is always the
one jsonschema gives; only the common case is fast.

A record found invalid is not sent and does not stop the run: :class:`FlaggingValidator`
notes why in :class:`RecordFlags`, beside the record, and the sink dead-letters it.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pendulum
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks.core import BaseJSONSchemaValidator, JSONSchemaValidator
from singer_sdk.typing import DEFAULT_JSONSCHEMA_VALIDATOR
from typing_extensions import override

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    Check = Callable[[Any], bool]

DATELIKE_FORMATS = frozenset({"date-time", "date", "time"})

#: Keywords jsonschema acts on; every other key of a schema is an annotation it ignores.
_ACTIVE_KEYWORDS = frozenset(DEFAULT_JSONSCHEMA_VALIDATOR.VALIDATORS)
#: Active keywords whose effect the fast path reproduces (``format``: only when formats are
#: not checked, which is how the sink builds it).
_HANDLED = frozenset(
    {
        "type",
        "properties",
        "additionalProperties",
        "required",
        "items",
        "enum",
        "const",
        "anyOf",
        "allOf",
        "format",
    }
)
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float, decimal.Decimal),
    "boolean": (bool,),
    "null": (type(None),),
    "object": (dict,),
    "array": (list,),
}


def _always(_value: Any) -> bool:
    return True


def _unsure(_value: Any) -> bool:
    return False


def _exact_types(names: Any) -> frozenset[type] | None:
    """The Python types certainly matching JSON Schema ``type`` names; None if unknown."""
    names = [names] if isinstance(names, str) else list(names)
    if not all(isinstance(name, str) and name in _JSON_TYPES for name in names):
        return None
    exact = frozenset(t for name in names for t in _JSON_TYPES[name])
    if "boolean" not in names:
        exact -= {bool}
    if "integer" in names and "number" not in names:
        # jsonschema also takes 3.0 as an integer: left to it.
        exact -= {float, decimal.Decimal}
    return exact


def _leaf(schema: Any) -> frozenset[type] | None:
    """The exact types of a subschema that only says ``type`` (and annotations)."""
    if not isinstance(schema, dict) or "type" not in schema:
        return None
    if any(k in _ACTIVE_KEYWORDS and k not in {"type", "format"} for k in schema):
        return None
    return _exact_types(schema["type"])


def _spec(schema: Any) -> frozenset[type] | Check:
    leaf = _leaf(schema)
    return leaf if leaf is not None else compile_schema(schema)


def _matches(spec: frozenset[type] | Check, value: Any) -> bool:
    if type(spec) is frozenset:
        return type(value) in spec
    return spec(value)  # type: ignore[operator]


def _object_check(schema: dict[str, Any], types: frozenset[type] | None) -> Check:
    properties = {name: _spec(sub) for name, sub in schema.get("properties", {}).items()}
    additional_schema = schema.get("additionalProperties", True)
    additional = None if additional_schema is True else _spec(additional_schema)
    required = tuple(schema.get("required", ()))

    def check(value: Any) -> bool:
        kind = type(value)
        if types is not None and kind not in types:
            return False
        if kind is not dict:
            return not isinstance(value, dict)  # these keywords apply to objects only
        for name, item in value.items():
            spec = properties.get(name)
            if spec is None:
                if additional is not None and not _matches(additional, item):
                    return False
            elif type(spec) is frozenset:
                if type(item) not in spec:
                    return False
            elif not spec(item):  # type: ignore[operator]
                return False
        return all(name in value for name in required)

    return check


def _items_check(items: Any, types: frozenset[type] | None) -> Check:
    spec = _spec(items)

    def check(value: Any) -> bool:
        kind = type(value)
        if types is not None and kind not in types:
            return False
        if kind is not list:
            return not isinstance(value, list)  # items applies to arrays only
        if type(spec) is frozenset:
            return all(type(item) in spec for item in value)
        return all(spec(item) for item in value)  # type: ignore[operator]

    return check


def _enum_check(values: list[Any]) -> Check:
    # Strings and null compare the same way in Python and JSON Schema; others: not sure.
    allowed = frozenset(v for v in values if isinstance(v, str) or v is None)
    return lambda value: (value is None or type(value) is str) and value in allowed


_OBJECT_KEYWORDS = frozenset({"properties", "additionalProperties", "required"})


def compile_schema(schema: Any) -> Check:
    """A function telling whether a value is certainly valid against ``schema``."""
    if schema is True:
        return _always
    if not isinstance(schema, dict):
        return _unsure
    active = {keyword for keyword in schema if keyword in _ACTIVE_KEYWORDS}
    if not active <= _HANDLED:
        return _unsure
    types = _exact_types(schema["type"]) if "type" in active else None
    if "type" in active and types is None:
        return _unsure
    return _compile_keywords(schema, active - {"type", "format"}, types)


def _compile_keywords(
    schema: dict[str, Any], rest: set[str], types: frozenset[type] | None
) -> Check:
    """The check for ``type`` (as ``types``) together with the other handled keywords."""
    if not rest:
        return _always if types is None else (lambda value: type(value) in types)
    if rest <= _OBJECT_KEYWORDS:
        return _object_check(schema, types)
    if rest == {"items"}:
        return _items_check(schema["items"], types)
    checks: list[Check] = []
    if types is not None:
        checks.append(lambda value: type(value) in types)
    if rest & _OBJECT_KEYWORDS:
        checks.append(_object_check(schema, None))
    if "items" in rest:
        checks.append(_items_check(schema["items"], None))
    checks.extend(_combinator_checks(schema, rest))
    return lambda value: all(check(value) for check in checks)


def _combinator_checks(schema: dict[str, Any], active: set[str]) -> list[Check]:
    checks: list[Check] = []
    if "enum" in active:
        checks.append(_enum_check(list(schema["enum"])))
    if "const" in active:
        checks.append(_enum_check([schema["const"]]))
    if "anyOf" in active:
        branches = [_spec(sub) for sub in schema["anyOf"]]
        checks.append(lambda value: any(_matches(branch, value) for branch in branches))
    if "allOf" in active:
        parts = [_spec(sub) for sub in schema["allOf"]]
        checks.append(lambda value: all(_matches(part, value) for part in parts))
    return checks


def datelike_properties(schema: Mapping[str, Any]) -> dict[str, str]:
    """Top-level properties declared as date, time or date-time, with their format."""
    found = {}
    for name, prop in (schema.get("properties") or {}).items():
        candidates = [prop, *prop.get("anyOf", [])] if isinstance(prop, dict) else []
        for candidate in candidates:
            if isinstance(candidate, dict) and candidate.get("format") in DATELIKE_FORMATS:
                found[name] = candidate["format"]
                break
    return found


#: What sinks hand the SDK as their schema (see :func:`sink_schema`).
_OPEN_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": True}


def sink_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema a sink gives the SDK: no typed properties, so nothing is converted.

    For each record the SDK walks every field against the schema to turn date-like strings
    into ``datetime`` objects (and stops the run on one it cannot read), only for the sink to
    turn them back into the same strings for Planhat. Sinks validate against the stream's
    declared schema with :class:`FlaggingValidator` instead, which also checks the dates.
    """
    return {**_OPEN_SCHEMA, "properties": {}, "required": [], **_annotations(schema)}


def _annotations(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k in {"title", "description", "$comment"}}


def readable_date(value: str, kind: str) -> bool:
    """Whether a date, time or date-time string can be read (as the SDK would read it)."""
    try:
        if kind == "date":
            dt.date.fromisoformat(value)
        elif kind == "time":
            dt.time.fromisoformat(value)
        else:
            # Not redundant: 3.11's fromisoformat refuses a date with a "Z" ("2024-02-03Z").
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))  # noqa: FURB162
    except ValueError:
        try:
            pendulum.parse(value)
        except (ValueError, pendulum.parsing.exceptions.ParserError):
            return False
    return True


class FastValidator(BaseJSONSchemaValidator):
    """Accepts certainly-valid records at once; asks jsonschema about every other one."""

    def __init__(self, schema: dict[str, Any]) -> None:
        """Compile ``schema``; the full validator checks the schema itself, as the SDK does."""
        super().__init__(schema)
        self.full = JSONSchemaValidator(schema, validate_formats=False)
        self.fast = compile_schema(schema)

    @override
    def validate(self, record: dict[str, Any]) -> None:
        if not self.fast(record):
            self.full.validate(record)


@dataclass
class _Flag:
    record: dict[str, Any]
    reason: str
    added: set[str] = field(default_factory=set)


class RecordFlags:
    """Why the record in hand is rejected, kept beside it instead of inside it.

    The SDK hands each record to the validator, then to the sink's ``preprocess_record`` and
    ``process_record``, one record at a time on the reader thread, and none of them can return
    a verdict to the next. So each notes its finding here, against the record object, and
    ``process_record`` takes it. The flag holds the record itself, not its ``id``, so a flag
    can never be taken for a later record that happens to reuse the memory.
    """

    def __init__(self) -> None:
        """No record flagged."""
        self._flag: _Flag | None = None

    def flag(self, record: dict[str, Any], reason: str, *, added: Iterable[str] = ()) -> None:
        """Note why ``record`` is rejected (its first reason stands) and the columns added to it."""
        if self._flag is None or self._flag.record is not record:
            self._flag = _Flag(record, reason)
        self._flag.added.update(added)

    def take(self, record: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
        """``(reason, the record as received)`` if ``record`` was flagged; the flag is spent."""
        flag, self._flag = self._flag, None
        if flag is None or flag.record is not record:
            return None
        return flag.reason, {k: v for k, v in record.items() if k not in flag.added}


class FlaggingValidator(BaseJSONSchemaValidator):
    """Checks records without ever stopping the run.

    A record that breaks the stream's schema, or carries a date it cannot read, is flagged
    with the reason (:class:`RecordFlags`); the sink dead-letters it and ``max_rejected``
    decides the run's fate, where the SDK would fail the whole run on the first one.
    """

    def __init__(self, schema: dict[str, Any], flags: RecordFlags, *, check_formats: bool) -> None:
        """Validate against ``schema``, and read its top-level date-like properties."""
        super().__init__(schema)
        self.flags = flags
        self.schema_check: BaseJSONSchemaValidator = (
            JSONSchemaValidator(schema, validate_formats=True)
            if check_formats
            else FastValidator(schema)
        )
        self.dates = datelike_properties(schema)

    @classmethod
    def for_sink(
        cls,
        declared: dict[str, Any],
        sink: dict[str, Any],
        flags: RecordFlags,
        *,
        check_formats: bool,
    ) -> FlaggingValidator:
        """A validator for a sink: the schema the tap declared, plus the sink's ``_sdc_*``.

        ``sink`` is the sink's schema, which holds the ``_sdc_*`` fields the SDK adds when
        add_record_metadata is on.
        """
        metadata = {k: v for k, v in sink["properties"].items() if k.startswith("_sdc_")}
        schema = {**declared, "properties": {**declared.get("properties", {}), **metadata}}
        return cls(schema, flags, check_formats=check_formats)

    @override
    def validate(self, record: dict[str, Any]) -> None:
        try:
            self.schema_check.validate(record)
        except InvalidRecord as exc:
            reason = f"does not match the stream's schema: {exc.error_message}"
            self.flags.flag(record, reason)
            return
        for name, kind in self.dates.items():
            value = record.get(name)
            if isinstance(value, str) and not readable_date(value, kind):
                self.flags.flag(record, f"unreadable {kind} in '{name}': {value[:60]!r}")
                return
