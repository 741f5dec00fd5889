"""Records left out because an earlier run wrote them as they are now (``skip_unchanged``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from target_planhat.records import merge_identity
from target_planhat.sync_ledger import identity_digest, payload_digest

if TYPE_CHECKING:
    import logging

    from target_planhat.records import MappedRecord
    from target_planhat.routing import Route
    from target_planhat.run_files import RunFiles


class UnchangedRecords:
    """Looks a stream's records up in the sync ledger as they arrive.

    Checked as records arrive, so batches hold changed records only: three changed rows of
    100,000 make one small call. A record whose key an earlier record of this run changed is
    always sent, so the last one still wins.
    """

    def __init__(self, route: Route, files: RunFiles, scope: str, *, skip: bool) -> None:
        """``scope``: the tenant's API URL, part of every identity; ``skip``: the setting."""
        self._route = route
        self._files = files
        self._scope = scope
        self._skip = skip
        #: Identities this run sends.
        self._changed: set[int] = set()
        #: Records left out so far.
        self.count = 0

    def unchanged(self, record: MappedRecord) -> bool:
        """Whether an earlier run wrote this record as it is now (then it is not sent).

        Gives the record its ``ledger_entry``, remembered once Planhat confirms the write.
        """
        ledger = self._files.sync_ledger
        if not ledger.enabled or self._route.mapping.push or record.deleted:
            return False
        identity = merge_identity(record, self._route.model)
        if identity is None:
            return False  # create_only without a key: nothing to compare with
        record.ledger_entry = (
            identity_digest(self._scope, self._route.stream, identity),
            payload_digest(record.payload),
        )
        identity_key, payload_key = record.ledger_entry
        if (
            self._skip
            and ledger.unchanged(identity_key, payload_key)
            and identity_key not in self._changed
        ):
            self.count += 1
            return True
        self._changed.add(identity_key)
        return False

    def log_count(self, logger: logging.Logger) -> None:
        """Say how many of the stream's records were left out (at the sink's clean-up)."""
        if self.count:
            logger.info(
                "Stream '%s': %d records are as an earlier run wrote them (sync ledger); "
                "not sent again",
                self._route.stream,
                self.count,
            )

    def planhat_id(self, record: MappedRecord) -> str | None:
        """Planhat's ``_id`` the ledger kept for a record left out as unchanged, if any."""
        if record.ledger_entry is None:
            return None
        return self._files.sync_ledger.planhat_id(record.ledger_entry[0])
