"""The files a run writes: dead letter, results file, sync ledger and push ledger."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from target_planhat.dead_letter import DeadLetter
from target_planhat.push_ledger import PushLedger
from target_planhat.results_file import ResultsFile
from target_planhat.sync_ledger import SyncLedger

if TYPE_CHECKING:
    from collections.abc import Iterable

    from target_planhat.settings import TargetSettings


class RunFiles:
    """Opens the run's files when first needed and closes the ones it opened.

    The dead letter and results files create nothing before their first line. The ledgers
    read (and the push ledger rewrites) their files when built, so they are built only when
    a stream first needs them.
    """

    def __init__(self, settings: TargetSettings, secrets: Iterable[str]) -> None:
        """Take the paths from ``settings``; redact ``secrets`` from every line."""
        self._settings = settings
        secrets = tuple(secrets)
        self.dead_letter = DeadLetter(settings.dead_letter_path, secrets)
        #: None without ``results_path``, and in dry runs: nothing is written.
        self.results = (
            ResultsFile(settings.results_path, secrets)
            if settings.results_path and not settings.dry_run
            else None
        )
        self._lock = threading.Lock()
        self._sync_ledger: SyncLedger | None = None
        self._push_ledger: PushLedger | None = None

    @property
    def sync_ledger(self) -> SyncLedger:
        """Digests of what earlier runs wrote (read, never written, in dry runs)."""
        with self._lock:
            if self._sync_ledger is None:
                self._sync_ledger = SyncLedger(
                    self._settings.sync_ledger_path, read_only=self._settings.dry_run
                )
            return self._sync_ledger

    @property
    def push_ledger(self) -> PushLedger:
        """Pushes of earlier runs (off in dry runs: nothing is pushed)."""
        with self._lock:
            if self._push_ledger is None:
                path = None if self._settings.dry_run else self._settings.push_ledger_path
                self._push_ledger = PushLedger(path, self._settings.push_ledger_hours)
            return self._push_ledger

    def close(self) -> None:
        """Close the files opened, and compact the sync ledger if it was read."""
        self.dead_letter.close()
        if self._sync_ledger is not None:
            self._sync_ledger.close()
        if self.results is not None:
            self.results.close()
