"""What earlier runs wrote, so a rerun sends only the records that changed.

Hightouch and Census send a warehouse row again only when it changed since their last
successful sync; so does target-planhat. For each record Planhat confirmed (created, updated
or unchanged in a bulk upsert's answer), the ledger keeps two 64-bit digests: of the record's
identity (tenant API URL, stream, key) and of the payload sent. A later record with the same
identity and payload is not sent again; the summary counts it as unchanged.

The file (``sync_ledger_path``) holds one line per confirmed write, ``<identity> <payload>``
in hex (34 bytes), never values or tokens:

* written only after Planhat confirmed the write, and flushed to disk before the next call,
  so a crash at any point leaves at most records that are sent again (never skipped wrongly);
  a line cut short by a crash is ignored when the file is read back;
* compacted when it holds more than twice as many lines as identities (a new file written
  aside, then moved into place), so it stays within 2 x 34 bytes per key ever synced.

Each write may bump ``updatedAt`` in Planhat even when nothing changed (the Hull connector's
README, github.com/hull/hull-planhat, notes it for endusers), which also makes tap-planhat's
next incremental run read those records again; skipping unchanged rows avoids both.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

DEFAULT_PATH = ".planhat_sync_ledger"
_DIGEST_BYTES = 8
_LINE_BYTES = 2 * 2 * _DIGEST_BYTES + 2
#: Compact when the file has this many lines more than the ledger has identities.
_SLACK = 10_000


def _digest(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=_DIGEST_BYTES).digest(), "big")


def identity_digest(scope: str, stream: str, identity: tuple[Any, ...]) -> int:
    """The digest of one record's identity: where it is written, its stream and its key."""
    return _digest(orjson.dumps([scope, stream, *identity], default=str))


def payload_digest(payload: Mapping[str, Any]) -> int:
    """The digest of a payload (key order does not matter)."""
    return _digest(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str))


class SyncLedger:
    """Payload digests of the records earlier runs wrote, by identity."""

    def __init__(self, path: str | Path | None, *, read_only: bool = False) -> None:
        """Read ``path``; None or empty switches the ledger off.

        ``read_only`` (dry runs) reads it and never writes to it.
        """
        self.path = Path(path) if path else None
        self.read_only = read_only
        self._sent: dict[int, int] = {}
        self._lines = 0
        self._lock = threading.Lock()
        if self.path is not None and self.path.exists():
            self._load(self.path)

    @property
    def enabled(self) -> bool:
        """Whether the ledger keeps anything."""
        return self.path is not None

    def __len__(self) -> int:
        return len(self._sent)

    def _load(self, path: Path) -> None:
        with path.open("rb") as handle:
            for line in handle:
                if len(line) != _LINE_BYTES:
                    continue  # cut short by a crash
                try:
                    key, value = int(line[:16], 16), int(line[17:33], 16)
                except ValueError:
                    continue
                self._sent[key] = value
                self._lines += 1

    def unchanged(self, identity: int, payload: int) -> bool:
        """Whether an earlier run wrote this payload for this identity."""
        return self._sent.get(identity) == payload

    def remember(self, entries: Iterable[tuple[int, int]]) -> None:
        """Note confirmed writes; on disk before this returns."""
        if self.path is None or self.read_only:
            return
        entries = [(k, v) for k, v in entries if self._sent.get(k) != v]
        if not entries:
            return
        data = b"".join(b"%016x %016x\n" % entry for entry in entries)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            self._sent.update(entries)
            self._lines += len(entries)

    def close(self) -> None:
        """Compact the file when it has grown well past one line per identity."""
        if self.path is None or self.read_only or self._lines <= 2 * len(self._sent) + _SLACK:
            return
        with self._lock:
            aside = self.path.with_name(self.path.name + ".new")
            with aside.open("wb") as handle:
                handle.write(b"".join(b"%016x %016x\n" % item for item in self._sent.items()))
                handle.flush()
                os.fsync(handle.fileno())
            aside.replace(self.path)
            self._lines = len(self._sent)
