"""Which records of a batch may be written; the others are rejected with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from target_planhat.mapping.keys import creates_keyless, keyless_record_reason, present
from target_planhat.mapping.options import Mode

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from planhat_common.registry import Model
    from target_planhat.mapping.payloads import MappedRecord
    from target_planhat.mapping.routing import Route


class WriteChecks:
    """A stream's checks before writing: a key, its mode's rule, the fields creating needs."""

    def __init__(
        self,
        route: Route,
        reject: Callable[[MappedRecord, str], None],
        existing_keys: Callable[[], Mapping[tuple[str, str], str]],
    ) -> None:
        """``existing_keys`` gives the model's keys in Planhat (for update_only, create_only)."""
        self._route = route
        self._reject = reject
        self._existing_keys = existing_keys

    def passed(self, records: list[MappedRecord]) -> list[MappedRecord]:
        """The records that pass every check; each other one is rejected."""
        records = self._require_keys(records)
        records = self._filter_by_mode(records)
        return self._check_required(records)

    def _require_keys(self, records: list[MappedRecord]) -> list[MappedRecord]:
        """Reject records with no key value, unless the stream may create keyless ones."""
        if creates_keyless(self._route.mode, push=self._route.mapping.push):
            return records
        kept = []
        for record in records:
            if record.key is None:
                self._reject(record, keyless_record_reason(self._route.model))
            else:
                kept.append(record)
        return kept

    def _filter_by_mode(self, records: list[MappedRecord]) -> list[MappedRecord]:
        """Drop (and dead-letter) records the stream's mode forbids."""
        mode = self._route.mode
        if mode is Mode.UPSERT or not records:
            return records  # no key scan for a batch that holds only rejects
        index = self._existing_keys()
        kept = []
        for record in records:
            exists = record.key is not None and record.key in index
            if mode is Mode.UPDATE_ONLY and not exists:
                why = "has no key" if record.key is None else "matches no existing record"
                self._reject(record, f"update_only: {record.key_label} {why}")
            elif mode is Mode.CREATE_ONLY and exists:
                self._reject(record, f"create_only: {record.key_label} already exists")
            else:
                kept.append(record)
        return kept

    def _check_required(self, records: list[MappedRecord]) -> list[MappedRecord]:
        """Reject records that lack a field Planhat needs to take them.

        (docs/planhat-api.md, "Required fields to create", "Metrics (dimension data)",
        "User activities")
        """
        kept = []
        for record in records:
            problem = self._missing_fields(record)
            if problem:
                self._reject(record, problem)
            else:
                kept.append(record)
        return kept

    def _missing_fields(self, record: MappedRecord) -> str | None:
        """Why Planhat would not take the record for lack of a field, or None.

        The reason says which case it is: a record without a key (or in a create_only stream)
        is created, so it needs every field creating one needs; a ticket needs ``email``
        whatever its key.
        """
        model = self._route.model
        if self._route.mapping.push:
            return push_item_problem(record.payload, model)
        required = self._route.mapping.required
        if record.key is None or self._route.mode is Mode.CREATE_ONLY:
            missing = missing_for_create(record.payload, model, required)
            if missing:
                why = "no key, so it would be created" if record.key is None else "create_only"
                return (
                    f"{why}, and it lacks field(s) required to create a {model.planhat_name}: "
                    f"{', '.join(missing)}"
                )
        if model.name == "tickets" and not record.payload.get("email"):
            # Planhat drops tickets without email silently, keyed or not (docs/planhat-api.md,
            # "Required fields to create").
            return "no email: Planhat drops a ticket without one, keyed or not, without an error"
        return None


def missing_for_create(
    payload: Mapping[str, Any], model: Model, also: Sequence[str] = ()
) -> list[str]:
    """Fields ``model`` (and ``also``) needs to create a record that ``payload`` lacks."""
    needed = dict.fromkeys((*model.required_for_create, *also))
    return [name for name in needed if not present(payload.get(name))]


def push_item_problem(payload: Mapping[str, Any], model: Model) -> str | None:
    """Why a metrics or activity item cannot be pushed, or None when it can.

    (docs/planhat-api.md, "Metrics (dimension data)", "User activities")
    """
    if model.name == "user_activities":
        if not any(present(payload.get(k)) for k in ("email", "externalId", "id")):
            return "user activity needs 'email', 'externalId' or 'id'"
        return None
    missing = missing_for_create(payload, model)
    return f"missing required field(s) {', '.join(missing)}" if missing else None
