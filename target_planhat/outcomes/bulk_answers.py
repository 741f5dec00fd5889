"""Reading bulk-upsert and push responses, and matching their errors to the records sent.

Bulk-upsert bodies are loosely specified (docs/writes.md, "What a bulk upsert answers";
docs/planhat-api.md, "Bulk upsert"): any key may be missing, error items are strings or
objects, and nothing maps an error to its input position. An error is matched to records by any
keyable value it carries; when none matches, it is reported against the whole chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from target_planhat.mapping.keys import key_value

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from target_planhat.mapping.payloads import MappedRecord

#: Body keys holding per-item failures, and what each means.
ERROR_KEYS: Mapping[str, str] = {
    "createdErrors": "create failed",
    "updatedErrors": "update failed",
    "permissionErrors": "permission denied",
    "errors": "push failed",
}
#: Fields worth looking for in an error object to find its record.
MATCH_FIELDS = ("_id", "sourceId", "externalId", "extId", "email", "id", "dimensionId")
#: Keys under which an error object may nest the item it is about.
NESTED_ITEM_KEYS = ("key", "keys", "item", "record", "data", "object", "input", "payload")
#: Keys under which an error object may give the item's position in the request array.
INDEX_KEYS = ("item", "index", "position")


@dataclass
class ItemError:
    """One failed item from a response: which list it came from and what it said."""

    kind: str
    detail: Any

    @property
    def reason(self) -> str:
        """A one-line reason for the dead letter file."""
        detail = self.detail
        if isinstance(detail, dict) and isinstance(detail.get("error"), str):
            text = detail["error"]
        elif isinstance(detail, dict) and isinstance(detail.get("message"), str):
            text = detail["message"]
        else:
            text = detail if isinstance(detail, str) else _short(detail)
        return f"{ERROR_KEYS.get(self.kind, self.kind)}: {text}"


@dataclass
class BulkOutcome:
    """What one bulk-upsert (or push) response says happened."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[ItemError] = field(default_factory=list)
    #: Planhat ids of the records created or updated (``upsertedIds``, ``insertsKeys``).
    upserted_ids: set[str] = field(default_factory=set)
    #: ``insertsKeys`` and ``updatesKeys``: ``{_id, <keyables sent>}`` per written record.
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)


def _short(value: Any, limit: int = 300) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _count(body: Mapping[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, list):
        return len(value)
    return 0


def _error_items(value: Any) -> list[Any]:
    if value is None or value in ([], {}):
        return []
    if isinstance(value, list):
        return [item for item in value if item not in (None, "", {})]
    return [value]


def parse_bulk_body(body: Any) -> BulkOutcome:
    """Counts and errors from a bulk-upsert body; tolerant of missing keys."""
    if not isinstance(body, dict):
        return BulkOutcome()
    outcome = BulkOutcome(
        created=_count(body, "created"),
        updated=_count(body, "updated"),
        unchanged=_count(body, "nonupdates"),
    )
    for key in ("createdErrors", "updatedErrors", "permissionErrors"):
        outcome.errors.extend(ItemError(key, item) for item in _error_items(body.get(key)))
    ids = body.get("upsertedIds")
    if isinstance(ids, list):
        outcome.upserted_ids.update(i for i in ids if isinstance(i, str))
    for key, kept in (("insertsKeys", outcome.inserts), ("updatesKeys", outcome.updates)):
        entries = body.get(key)
        if isinstance(entries, list):
            kept.extend(e for e in entries if isinstance(e, dict))
            outcome.upserted_ids.update(e["_id"] for e in kept if isinstance(e.get("_id"), str))
    return outcome


def parse_push_body(body: Any, sent: int) -> BulkOutcome:
    """Counts and errors from an analytics push body: ``{"processed": n, "errors": [...]}``."""
    if not isinstance(body, dict):
        return BulkOutcome(created=sent)
    errors = [ItemError("errors", item) for item in _error_items(body.get("errors"))]
    processed = body.get("processed")
    created = int(processed) if isinstance(processed, (int, float)) else sent - len(errors)
    return BulkOutcome(created=max(created, 0), errors=errors)


def applied_anything(body: Any) -> bool:
    """Whether a (failed) bulk body reports any item written: then it must not be resent."""
    if not isinstance(body, dict):
        return False
    return any(_count(body, key) for key in ("created", "updated", "upsertedIds", "modified"))


def _candidate_values(detail: Any) -> dict[str, str]:
    """Keyable values an error object carries, looking one level into nested items."""
    found: dict[str, str] = {}
    if not isinstance(detail, dict):
        return found
    scopes = [detail] + [detail[k] for k in NESTED_ITEM_KEYS if isinstance(detail.get(k), dict)]
    for scope in scopes:
        for name in MATCH_FIELDS:
            value = key_value(scope.get(name))
            if value is not None:
                found.setdefault(name, value)
    return found


def record_values(record: MappedRecord) -> dict[str, str]:
    """The keyable values a record carries, by field (to find it in a response)."""
    return _record_values(record)


def entry_values(entry: Mapping[str, Any]) -> dict[str, str]:
    """The keyable values an error or a written-keys entry carries, by field."""
    return _candidate_values(entry)


def _record_values(record: MappedRecord) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in MATCH_FIELDS:
        value = key_value(record.payload.get(name))
        if value is not None:
            values[name] = value
    if record.key:
        values.setdefault(record.key[0], record.key[1])
    return values


def _mentions(text: str, value: str) -> bool:
    if len(value) < 2:  # noqa: PLR2004 - one character matches too much
        return False
    pattern = rf"(?<![A-Za-z0-9_.@-]){re.escape(value)}(?![A-Za-z0-9_.@-])"
    return re.search(pattern, text) is not None


def _error_index(detail: Any, size: int) -> int | None:
    if not isinstance(detail, dict):
        return None
    for name in INDEX_KEYS:
        value = detail.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < size:
            return value
    return None


def match_error(error: ItemError, records: Sequence[MappedRecord]) -> list[int]:
    """Indices of the records an error is about; empty when it names none of them.

    Objects match on every keyable they share with a record; when that does not single out
    one record, an integer ``item``/``index`` is taken as the position in the request array.
    Strings match on any keyable value of a record they mention as a whole word.
    """
    if isinstance(error.detail, dict):
        wanted = _candidate_values(error.detail)
        hits = []
        if wanted:
            for index, record in enumerate(records):
                have = _record_values(record)
                shared = [name for name in wanted if name in have]
                if shared and all(have[name] == wanted[name] for name in shared):
                    hits.append(index)
        if len(hits) != 1:
            position = _error_index(error.detail, len(records))
            if position is not None and (not hits or position in hits):
                return [position]
        return hits
    text = str(error.detail)
    return [
        index
        for index, record in enumerate(records)
        if any(_mentions(text, value) for value in _record_values(record).values())
    ]


def assign_errors(
    errors: Iterable[ItemError], records: Sequence[MappedRecord]
) -> tuple[dict[int, list[str]], list[ItemError]]:
    """Map errors to record indices; return ``(reasons by index, errors matching nothing)``.

    An error that matches several records (a value shared by more than one item) is kept
    against the chunk rather than blamed on all of them.
    """
    by_record: dict[int, list[str]] = {}
    unmatched: list[ItemError] = []
    for error in errors:
        hits = match_error(error, records)
        if len(hits) == 1:
            by_record.setdefault(hits[0], []).append(error.reason)
        else:
            unmatched.append(error)
    return by_record, unmatched
