"""The files a run writes: the dead letter file, the results file, and the two ledgers.

The dead letter and results files are JSON Lines files that create nothing before their first
line and never hold a secret (:class:`JsonLinesFile`):

* **Dead letter** (``dead_letter_path``): one line per record Planhat (or the target)
  rejected: ``time``, ``stream``, ``model``, ``reason``, ``key`` and ``record`` (the record as
  received, without ``_sdc_*`` metadata; ``null`` for errors Planhat reported against a whole
  chunk).
* **Results** (``results_path``): one line per record, saying what became of it in Planhat:
  ``time``, ``stream``, ``model``, ``key_field``, ``key_value``, ``planhat_id`` (Planhat's
  ``_id`` where known), ``outcome`` (created, updated, unchanged, deleted, written, skipped,
  rejected or unknown; see attribution.py) and ``reason``. A warehouse can load it to keep
  Planhat's ids beside its rows and to retry the rejected ones (docs/recipes.md, "Results
  file").

The sync ledger (sync_ledger.py) and push ledger (push_ledger.py) are read when a stream first
needs them.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planhat_common.http import redact
from target_planhat.mapping.payloads import dumps
from target_planhat.outcomes.push_ledger import PushLedger
from target_planhat.outcomes.sync_ledger import SyncLedger

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import IO

    from target_planhat.outcomes.attribution import RecordResult
    from target_planhat.settings import TargetSettings


class JsonLinesFile:
    """Appends JSON lines to ``path``; nothing is created until the first line."""

    def __init__(self, path: str | Path, secrets: Iterable[str]) -> None:
        """Remember where to write and what never to write."""
        self.path = Path(path)
        self._secrets = tuple(secrets)
        self._file: IO[str] | None = None
        self._lock = threading.Lock()
        self.lines = 0

    def append(self, entries: Iterable[dict[str, Any]]) -> None:
        """Append one line per entry, flushed before this returns."""
        text = "".join(redact(dumps(entry).decode(), self._secrets) + "\n" for entry in entries)
        if not text:
            return
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(text)
            self._file.flush()
            self.lines += text.count("\n")

    def close(self) -> None:
        """Close the file if it was opened."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class DeadLetter(JsonLinesFile):
    """Appends rejected records to the dead letter file, opened on the first rejection."""

    def write(
        self,
        *,
        stream: str,
        model: str,
        reason: str,
        record: dict[str, Any] | None,
        key: str | None = None,
    ) -> None:
        """Append one line."""
        entry = {
            "time": dt.datetime.now(tz=dt.UTC).isoformat(),
            "stream": stream,
            "model": model,
            "reason": reason,
            "key": key,
            "record": record,
        }
        self.append([entry])


class ResultsFile(JsonLinesFile):
    """Appends one line per record outcome."""

    def write(self, stream: str, model: str, results: Iterable[RecordResult]) -> None:
        """Append the outcomes of some records of one stream."""
        now = dt.datetime.now(tz=dt.UTC).isoformat()
        self.append(
            {
                "time": now,
                "stream": stream,
                "model": model,
                "key_field": r.record.key[0] if r.record.key else None,
                "key_value": r.record.key[1] if r.record.key else None,
                "planhat_id": r.known_id,
                "outcome": r.outcome,
                "reason": r.reason,
            }
            for r in results
        )


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
