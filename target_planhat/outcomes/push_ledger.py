"""A local ledger of metric and user-activity pushes, so a rerun does not send them twice.

Bulk upserts are keyed, so replaying a batch is harmless. Pushes to the analytics host are
appends: Planhat adds each metric value (or combines a day's values by SUM) and records each
activity again (docs/planhat-api.md, "Metrics (dimension data)", "User activities"). After a
crash, Meltano replays everything after the last STATE, which includes pushes the killed run
had already made. The ledger remembers a digest of every acknowledged push item, and of every
item whose push may have landed (see ``PushSink.outcome_unknown``), for ``push_ledger_hours``;
an identical item found there is not sent again. Within one run nothing is skipped: only
earlier runs' pushes count, each digest once per time it was pushed. Only items with a ``date``
are looked up: Planhat dates an item without one when it arrives, so the same item in a later
run is a new event. The file holds digests only, never record values or tokens.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from target_planhat.outcomes.locations import kept_file

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: The file's name in the Meltano project (the default path was this, in the current
#: directory, before the ledger followed the project).
FILE_NAME = ".planhat_push_ledger.jsonl"
DEFAULT_HOURS = 72.0
_DIGEST_BYTES = 12


def default_path(environ: Mapping[str, str]) -> Path:
    """Where the ledger is kept when ``push_ledger_path`` is not set (locations.py).

    Under Meltano, ``$MELTANO_PROJECT_ROOT/.planhat_push_ledger.jsonl``; outside it,
    ``target-planhat/push_ledger.jsonl`` in the user's state directory.
    """
    return kept_file(environ, FILE_NAME, "push_ledger.jsonl")


def digest(model: str, payload: Mapping[str, Any]) -> str:
    """A stable digest of one pushed item (key order does not matter)."""
    data = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.blake2b(model.encode() + b"\0" + data, digest_size=_DIGEST_BYTES).hexdigest()


class PushLedger:
    """Digests of items pushed by earlier runs, and an append-only file of this run's."""

    def __init__(self, path: str | Path | None, hours: float = DEFAULT_HOURS) -> None:
        """Load the entries younger than ``hours``; ``path`` None or empty switches it off."""
        self.path = Path(path) if path else None
        self.hours = hours
        self._earlier: Counter[str] = Counter()
        self._lock = threading.Lock()
        if self.path is not None:
            self._load()

    def _load(self) -> None:
        assert self.path is not None  # noqa: S101 - checked by the caller
        if not self.path.exists():
            return
        cutoff = time.time() - self.hours * 3600
        kept: list[bytes] = []
        for line in self.path.read_bytes().splitlines():
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # a line cut short by a crash
            if entry.get("at", 0) >= cutoff:
                self._earlier.update(entry.get("digests", []))
                kept.append(line)
        # Rewrite without expired entries, so the file stays small.
        self.path.write_bytes(b"".join(line + b"\n" for line in kept))

    def already_pushed(self, model: str, payload: Mapping[str, Any]) -> bool:
        """Whether an earlier run pushed this item (and it has not been matched yet)."""
        if self.path is None:
            return False
        key = digest(model, payload)
        with self._lock:
            if self._earlier[key] > 0:
                self._earlier[key] -= 1
                return True
        return False

    def record(self, model: str, payloads: Iterable[Mapping[str, Any]]) -> None:
        """Remember items Planhat acknowledged (or may have); on disk before the next call."""
        if self.path is None:
            return
        digests = [digest(model, p) for p in payloads]
        if not digests:
            return
        line = orjson.dumps({"at": time.time(), "model": model, "digests": digests}) + b"\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("ab") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
