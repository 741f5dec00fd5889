"""Hard-delete detection for full-table streams.

Planhat has no tombstones or deleted-records listing (docs/planhat-api.md,
"Deletes and archives"): the only way to see a deletion is to compare the ``_id`` sets of two
full scans. The previous run's set lives in the stream's state, compactly: the 12 bytes of each
ObjectId-like ``_id``, sorted, zlib-compressed and base64-encoded (at most about 1.6 MB of
state for 100,000 records; less when ids share their timestamp prefix, as Planhat's do). Ids
that are not 24-hex strings are kept as text.
"""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from typing import TYPE_CHECKING, Any

from planhat_common.singer_columns import DELETED_AT

if TYPE_CHECKING:
    import logging
    from collections.abc import Iterable, Iterator

SEEN_IDS = "seen_ids"
_OBJECT_ID_HEX = 24
_SEPARATOR = b"\n"


def encode_ids(ids: Iterable[str]) -> str:
    """The compact state form of a set of ids: a count, the binary ids, then any others."""
    binary: list[bytes] = []
    text: list[bytes] = []
    for record_id in sorted(set(ids)):
        if len(record_id) == _OBJECT_ID_HEX and _is_hex(record_id):
            binary.append(bytes.fromhex(record_id))
        else:
            text.append(record_id.encode())
    payload = len(binary).to_bytes(4, "big") + b"".join(binary) + _SEPARATOR.join(text)
    return base64.b64encode(zlib.compress(payload, 9)).decode("ascii")


def decode_ids(encoded: str) -> set[str]:
    """The ids :func:`encode_ids` stored."""
    payload = zlib.decompress(base64.b64decode(encoded))
    count = int.from_bytes(payload[:4], "big")
    width = _OBJECT_ID_HEX // 2
    end = 4 + count * width
    ids = {payload[i : i + width].hex() for i in range(4, end, width)}
    ids.update(part.decode() for part in payload[end:].split(_SEPARATOR) if part)
    return ids


def _is_hex(value: str) -> bool:
    return all(c in "0123456789abcdef" for c in value)


def deletion_records(missing: Iterable[str]) -> Iterator[dict[str, Any]]:
    """One record per vanished id, stamped with when the deletion was noticed."""
    # The tap's one timestamp spelling (conversions.canonical_timestamp).
    noticed = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    for record_id in sorted(missing):
        yield {"_id": record_id, DELETED_AT: noticed}


def deletions_since_last_scan(
    state: dict[str, Any], seen: set[str], logger: logging.Logger, stream_name: str
) -> Iterator[dict[str, Any]]:
    """Records of ids the previous full scan saw and this one (``seen``) did not; then remember."""
    previous = decode_ids(state[SEEN_IDS]) if SEEN_IDS in state else set()
    missing = previous - seen
    if missing:
        logger.info(
            "Stream '%s': %d records deleted since the last run.", stream_name, len(missing)
        )
    yield from deletion_records(missing)
    # Written after the last record: a run that fails before this keeps the old set.
    state[SEEN_IDS] = encode_ids(seen)
