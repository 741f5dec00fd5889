"""An append-only JSON Lines file, opened on the first line, redacted of every secret."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planhat_common.http import redact
from target_planhat.records import dumps

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import IO


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
