"""What earlier runs wrote, so a rerun sends only the records that changed.

Hightouch and Census send a warehouse row again only when it changed since their last
successful sync; so does target-planhat. For each record Planhat confirmed (created, updated
or unchanged in a bulk upsert's answer), the ledger keeps two 64-bit digests: of the record's
identity (tenant API URL, stream, key) and of the payload sent, and Planhat's ``_id`` of the
record when the answer said it. A later record with the same identity and payload is not
sent again; the summary counts it as unchanged, and the results file gives it the ``_id`` the
ledger kept, so every run's results file carries the ids, not only the first one's.

The file (``sync_ledger_path``) holds one line per confirmed write, ``<identity> <payload>``
in hex, followed by `` <_id>`` when the id is known, never values or tokens. Files written
before ids were kept (lines without one) are read as they are:

* written only after Planhat confirmed the write, and flushed to disk before the next call,
  so a crash at any point leaves at most records that are sent again (never skipped wrongly);
  a line cut short by a crash is ignored when the file is read back (a line counts only when
  it ends in a newline and holds two digests and at most one id);
* compacted when it holds more than twice as many lines as identities (a new file written
  aside, then moved into place), so it stays within two lines (at most 99 bytes each) per key
  ever synced.

Where the file is kept when ``sync_ledger_path`` is not set (:func:`default_path`) follows the
Meltano project, not the directory the run started in: a ledger that silently starts empty
would send every row again. On runners whose disk does not outlive the run, the file must be
kept elsewhere (docs/target.md, "Keeping the sync ledger on ephemeral runners").

Each write may bump ``updatedAt`` in Planhat even when nothing changed (the Hull connector's
README, github.com/hull/hull-planhat, notes it for endusers), which also makes tap-planhat's
next incremental run read those records again; skipping unchanged rows avoids both.

:class:`UnchangedRecords` is the reading side: it looks each record up as it arrives.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from target_planhat.mapping.keys import merge_identity
from target_planhat.outcomes.locations import kept_file

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Mapping

    from target_planhat.mapping.payloads import MappedRecord
    from target_planhat.mapping.routing import Route

#: The file's name in the Meltano project (the default path before the ledger followed it).
FILE_NAME = ".planhat_sync_ledger"
_DIGEST_BYTES = 8
_HEX = re.compile(rb"[0-9a-f]{%d}" % (2 * _DIGEST_BYTES))
#: What a kept ``_id`` may look like (Planhat's are 24 hex digits); any other id is not kept,
#: so a line always splits on spaces into its parts.
_ID = re.compile(rb"[A-Za-z0-9_-]{1,64}")
#: Compact when the file has this many lines more than the ledger has identities.
_SLACK = 10_000


def default_path(environ: Mapping[str, str]) -> Path:
    """Where the ledger is kept when ``sync_ledger_path`` is not set (locations.py).

    Under Meltano, ``$MELTANO_PROJECT_ROOT/.planhat_sync_ledger``; outside it,
    ``target-planhat/sync_ledger`` in the user's state directory.
    """
    return kept_file(environ, FILE_NAME, "sync_ledger")


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
        #: Planhat's ``_id`` by identity, where an answer gave it.
        self._ids: dict[int, str] = {}
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
                parts = line.split(b" ")
                if not line.endswith(b"\n") or len(parts) not in {2, 3}:
                    continue  # cut short by a crash
                parts[-1] = parts[-1][:-1]
                if not (_HEX.fullmatch(parts[0]) and _HEX.fullmatch(parts[1])):
                    continue
                planhat_id = parts[2] if len(parts) == 3 else None  # noqa: PLR2004
                if planhat_id is not None and not _ID.fullmatch(planhat_id):
                    continue
                key = int(parts[0], 16)
                self._sent[key] = int(parts[1], 16)
                if planhat_id is not None:
                    self._ids[key] = planhat_id.decode()
                self._lines += 1

    def unchanged(self, identity: int, payload: int) -> bool:
        """Whether an earlier run wrote this payload for this identity."""
        return self._sent.get(identity) == payload

    def planhat_id(self, identity: int) -> str | None:
        """Planhat's ``_id`` of the record an earlier run wrote for this identity, if known."""
        return self._ids.get(identity)

    def remember(self, entries: Iterable[tuple[int, int, str | None]]) -> None:
        """Note confirmed writes ``(identity, payload, _id or None)``; on disk before this returns.

        An entry without an id keeps the id an earlier write of the identity gave: the key
        still names the same Planhat record.
        """
        if self.path is None or self.read_only:
            return
        lines: list[bytes] = []
        changed: list[tuple[int, int, str | None]] = []
        for identity, payload, given_id in entries:
            planhat_id = given_id if given_id and _ID.fullmatch(given_id.encode()) else None
            planhat_id = planhat_id or self._ids.get(identity)
            if self._sent.get(identity) == payload and self._ids.get(identity) == planhat_id:
                continue
            changed.append((identity, payload, planhat_id))
            lines.append(_line(identity, payload, planhat_id))
        if not lines:
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as handle:
                handle.write(b"".join(lines))
                handle.flush()
                os.fsync(handle.fileno())
            for identity, payload, planhat_id in changed:
                self._sent[identity] = payload
                if planhat_id is not None:
                    self._ids[identity] = planhat_id
            self._lines += len(lines)

    def close(self) -> None:
        """Compact the file when it has grown well past one line per identity."""
        if self.path is None or self.read_only or self._lines <= 2 * len(self._sent) + _SLACK:
            return
        with self._lock:
            aside = self.path.with_name(self.path.name + ".new")
            with aside.open("wb") as handle:
                handle.write(b"".join(_line(k, v, self._ids.get(k)) for k, v in self._sent.items()))
                handle.flush()
                os.fsync(handle.fileno())
            aside.replace(self.path)
            self._lines = len(self._sent)


def _line(identity: int, payload: int, planhat_id: str | None) -> bytes:
    if planhat_id is None:
        return b"%016x %016x\n" % (identity, payload)
    return b"%016x %016x %s\n" % (identity, payload, planhat_id.encode())


class UnchangedRecords:
    """Looks a stream's records up in the sync ledger as they arrive.

    Checked as records arrive, so batches hold changed records only: three changed rows of
    100,000 make one small call. A record whose key an earlier record of this run changed is
    always sent, so the last one still wins.
    """

    def __init__(
        self, route: Route, ledger: Callable[[], SyncLedger], scope: str, *, skip: bool
    ) -> None:
        """``ledger`` gives the run's sync ledger, read when a stream first needs it.

        ``scope``: the tenant's API URL, part of every identity; ``skip``: the setting.
        """
        self._route = route
        self._ledger = ledger
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
        ledger = self._ledger()
        if not ledger.enabled or self._route.mapping.push or record.deleted:
            return False
        identity = merge_identity(record.key, record.payload, self._route.model)
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
        return self._ledger().planhat_id(record.ledger_entry[0])
