"""Singer output: messages serialised with orjson and written without a flush per RECORD.

The SDK's default writer serialises each message with simplejson and flushes stdout after
every line; for wide records that is a large share of the tap's CPU time. This writer, set
as ``TapPlanhat.message_writer_class`` (the SDK's documented hook), writes the same JSON:

* ``Decimal`` values as exact JSON numbers (NaN and infinities as ``null``, as the SDK does);
  datetimes, dates and times in ISO 8601; anything else orjson cannot encode (an integer
  beyond 64 bits, a key that is not a string) falls back to the SDK's own serialiser, so no
  message is lost or changed in meaning;
* RECORD lines are collected into blocks of about 64 KiB and written to the binary stdout
  with one call per block; every other message (SCHEMA, STATE, ...) writes what is pending
  and flushes at once, so a STATE never waits behind its records. Blocks matter when stdout
  is unbuffered (``PYTHONUNBUFFERED``, ``python -u``): a write per RECORD is then a system
  call per record. What is pending is also written at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import decimal
import sys
import weakref
from typing import IO, Any

import orjson
from singer_sdk.singerlib import Message, RecordMessage
from singer_sdk.singerlib.encoding import GenericSingerWriter
from singer_sdk.singerlib.json import serialize_json
from typing_extensions import override

#: No ``OPT_NON_STR_KEYS``: it makes orjson check every key of every record (a third of the
#: time it takes on a wide record), and records parsed from JSON have only string keys; a
#: message with another key takes the SDK's serialiser instead.
_OPTIONS = orjson.OPT_APPEND_NEWLINE


def _default(value: Any) -> Any:
    """Types orjson does not encode natively, encoded as the SDK's serialiser does."""
    if isinstance(value, decimal.Decimal):
        return orjson.Fragment(str(value).encode()) if value.is_finite() else None
    return str(value)


def serialize_line(data: Any) -> bytes:
    """One JSON line (newline included), equal in meaning to the SDK's ``serialize_json``."""
    try:
        return orjson.dumps(data, default=_default, option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        # e.g. an integer beyond 64 bits or a non-string key: simplejson handles what
        # orjson refuses.
        return (serialize_json(data) + "\n").encode()


class FastSingerWriter(GenericSingerWriter[bytes, Message]):
    """Writes Singer messages with orjson, RECORD lines in blocks, others flushed at once."""

    #: Pending RECORD bytes that trigger a write.
    BLOCK_BYTES = 1 << 16

    def __init__(self) -> None:
        """Nothing pending yet; write what is pending if the process exits."""
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._pending_out: IO[Any] | None = None
        atexit.register(_flush_if_alive, weakref.ref(self))

    @override
    def serialize_message(self, message: Message) -> bytes:
        return serialize_line(message.to_dict())

    @override
    def write_message(self, message: Message) -> None:
        line = self.format_message(message)
        stdout = sys.stdout  # looked up each time: callers may redirect it
        if stdout is not self._pending_out:
            self.flush()  # what is pending belongs to the stream it was written for
            self._pending_out = stdout
        self._pending.append(line)
        self._pending_bytes += len(line)
        if not isinstance(message, RecordMessage):
            self.flush(to_os=True)
        elif self._pending_bytes >= self.BLOCK_BYTES:
            self.flush()

    def flush(self, *, to_os: bool = False) -> None:
        """Write the pending lines to the stdout they were written for (``to_os``: and flush it)."""
        out = self._pending_out
        if out is None:
            return
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            binary = getattr(out, "buffer", None)
            if binary is None:  # a text stream such as io.StringIO
                out.write(data.decode())
            else:
                _write_all(binary, data)
        if to_os:
            out.flush()


def _write_all(binary: IO[bytes], data: bytes) -> None:
    """Write every byte: an unbuffered (raw) stdout may take only part of a block."""
    view = memoryview(data)
    while view:
        written = binary.write(view)
        if written is None:
            raise BlockingIOError("stdout is non-blocking and full")
        view = view[written:]


def _flush_if_alive(ref: weakref.ref[FastSingerWriter]) -> None:
    writer = ref()
    if writer is None:
        return
    with contextlib.suppress(OSError, ValueError):  # stdout closed: its reader has gone
        writer.flush(to_os=True)
