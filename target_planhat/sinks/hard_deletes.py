"""Hard deletes (``hard_delete``): records marked deleted, and what a table version lacks.

A record carrying ``_sdc_deleted_at`` is deleted by ``_id``, other keys resolved through one
key scan. At ACTIVATE_VERSION the stream's full content is the new version, so the model's
records matching none of its keys are deleted; for that, the keys each table version holds
and the ids Planhat reported written are kept as records arrive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planhat_common.errors import PlanhatError
from target_planhat.mapping.keys import key_value

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Mapping

    from planhat_common.client import PlanhatClient
    from target_planhat.lookups import KeyLookups
    from target_planhat.mapping.keys import Key
    from target_planhat.mapping.payloads import MappedRecord
    from target_planhat.mapping.routing import Route
    from target_planhat.outcomes.counts import StreamCounts
    from target_planhat.outcomes.stream_outcomes import StreamOutcomes


NOT_FOUND = "not in Planhat: nothing to delete"


class HardDeletes:
    """Deletes a stream's records from Planhat, counting and dead-lettering as it goes."""

    def __init__(
        self,
        route: Route,
        *,
        client: PlanhatClient,
        lookups: KeyLookups,
        counts: StreamCounts,
        outcomes: StreamOutcomes,
        logger: logging.Logger,
        enabled: bool,
        dry_run: bool,
    ) -> None:
        """``enabled``: the ``hard_delete`` setting; ``dry_run``: log the calls, make none."""
        self._route = route
        self._client = client
        self._lookups = lookups
        self._counts = counts
        self._outcomes = outcomes
        self._logger = logger
        self._enabled = enabled
        self._dry_run = dry_run
        #: Keys seen per table version, and ids Planhat reported written (ACTIVATE_VERSION).
        self._version_keys: dict[int, set[Key]] = {}
        self._written_ids: set[str] = set()

    def note_version(
        self, record: Mapping[str, Any], key_columns: Iterable[tuple[str, str]]
    ) -> None:
        """Remember the keys a table version holds, for ACTIVATE_VERSION.

        Rejected records count too: the source has them, so their Planhat records stay.
        """
        version = record.get("_sdc_table_version")
        if version is None:
            return
        keys = self._version_keys.setdefault(version, set())
        for column, name in key_columns:
            value = key_value(record.get(column))
            if value is not None:
                keys.add((name, value))

    def note_written(self, ids: set[str]) -> None:
        """Remember ids Planhat reported written, which a new table version keeps."""
        if self._version_keys:
            # Only a versioned stream needs them (ACTIVATE_VERSION); others keep memory flat.
            self._written_ids |= ids

    def delete(self, records: list[MappedRecord]) -> None:
        """Hard-delete records by ``_id``, resolving other keys through one list scan."""
        model = self._route.model
        if self._route.mapping.push:
            for record in records:
                self._outcomes.reject(record, f"{model.planhat_name} items cannot be deleted")
            return
        if model.path is None:
            for record in records:
                self._outcomes.reject(record, f"{model.planhat_name} records cannot be deleted")
            return
        for record in records:
            record_id = self._lookups.find_id(model, record.key, self._counts.count_call)
            if record_id is None:
                self._logger.info(
                    "Delete: %s not found in Planhat; nothing to do", record.key_label
                )
                self._outcomes.left_unchanged(record, None, NOT_FOUND)
                continue
            problem = self._delete_id(record_id, record.count)
            if problem:
                self._outcomes.reject(record, problem)

    def activate_version(self, new_version: int, settle: Callable[[], None]) -> None:
        """With ``hard_delete``, delete the model's records the stream's new version lacks.

        Taps send ACTIVATE_VERSION before a full-table sync as well as after; the first one
        finds no records of the version yet and deletes nothing. ``settle`` writes what is
        pending first: Planhat must have every record of the version before the scan.
        """
        stream = self._route.stream
        kept = self._version_keys.pop(new_version, set())
        if not self._enabled or not self._route.model.path:
            self._logger.info(
                "ACTIVATE_VERSION %s for '%s': nothing deleted (hard_delete is off)",
                new_version,
                stream,
            )
            return
        if not kept:
            self._logger.info(
                "ACTIVATE_VERSION %s for '%s': no records of this version; nothing deleted",
                new_version,
                stream,
            )
            return
        settle()
        doomed = self._lookups.ids_absent_from(
            self._route.model, kept, self._written_ids, self._counts.count_call
        )
        self._logger.warning(
            "ACTIVATE_VERSION %s for '%s': deleting %d %s records the stream no longer has",
            new_version,
            stream,
            len(doomed),
            self._route.model.planhat_name,
        )
        for record_id in doomed:
            problem = self._delete_id(record_id)
            if problem:
                self._outcomes.reject_delete(record_id, problem)

    def _delete_id(self, record_id: str, count: int = 1) -> str | None:
        """``DELETE /<path>/<_id>``; count it; return why it failed (4xx), if it did."""
        path = self._route.model.path or ""
        if self._dry_run:
            self._logger.info("Dry run: would DELETE %s/%s", path, record_id)
            self._counts.add(planned=1)
            self._outcomes.deleted(("_id", record_id), count)
            return None
        reply = self._client.call("DELETE", self._client.api(path, record_id))
        self._counts.count_call()
        if reply.ok:
            self._outcomes.deleted(("_id", record_id), count)
        elif reply.status == 404:  # noqa: PLR2004
            self._outcomes.deleted(("_id", record_id), count, NOT_FOUND)
        elif 400 <= reply.status < 500:  # noqa: PLR2004
            return f"delete failed: {reply.description}"
        else:
            raise PlanhatError(
                f"Deleting {self._route.model.planhat_name} failed: {reply.description}"
            )
        return None
