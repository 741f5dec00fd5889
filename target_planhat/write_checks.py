"""Which records of a batch may be written; the others are rejected with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING

from target_planhat.records import Mode, missing_for_create, push_item_problem

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from target_planhat.records import MappedRecord
    from target_planhat.routing import Route


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
        """Reject records with no key value: a rerun would create them again.

        Only ``create_only`` streams (and pushes, which are not upserts) create keyless
        records.
        """
        if self._route.mode is Mode.CREATE_ONLY or self._route.mapping.push:
            return records
        kept = []
        for record in records:
            if record.key is None:
                keys = ", ".join(self._route.model.keyables)
                self._reject(
                    record,
                    f"no value in any key column ({keys}): not written, as a "
                    "rerun would create it again",
                )
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
