"""The dead letter file: one JSON line per record Planhat (or the target) rejected."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planhat_common.http import redact
from target_planhat.records import dumps

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import IO


class DeadLetter:
    """Appends rejected records to a JSONL file, opened on the first rejection.

    Each line holds ``time``, ``stream``, ``model``, ``reason``, ``key`` and ``record`` (the
    record as received, without ``_sdc_*`` metadata; ``null`` for errors Planhat reported
    against a whole chunk). Every secret is redacted from the line before it is written.
    """

    def __init__(self, path: str | Path, secrets: Iterable[str]) -> None:
        """Remember where to write; nothing is created until something is rejected."""
        self.path = Path(path)
        self._secrets = tuple(secrets)
        self._file: IO[str] | None = None
        self._lock = threading.Lock()
        self.lines = 0

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
            "time": dt.datetime.now(tz=dt.timezone.utc).isoformat(),
            "stream": stream,
            "model": model,
            "reason": reason,
            "key": key,
            "record": record,
        }
        line = redact(dumps(entry).decode(), self._secrets)
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(line + "\n")
            self._file.flush()
            self.lines += 1

    def close(self) -> None:
        """Close the file if it was opened."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
