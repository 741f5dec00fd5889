"""Singer output: messages serialised with orjson and written without a flush per RECORD.

The SDK's default writer serialises each message with simplejson and flushes stdout after
every line; for wide records that is a large share of the tap's CPU time. This writer, set
as ``TapPlanhat.message_writer_class`` (the SDK's documented hook), writes the same JSON:

* ``Decimal`` values as exact JSON numbers (NaN and infinities as ``null``, as the SDK does);
  datetimes, dates and times in ISO 8601; anything else orjson cannot encode falls back to
  the SDK's own serialiser, so no message is lost or changed in meaning;
* RECORD lines go to the binary stdout buffer and are flushed in blocks; every other message
  (SCHEMA, STATE, ...) flushes at once, so a STATE never waits behind its records.
"""

from __future__ import annotations

import decimal
import sys
from typing import Any

import orjson
from singer_sdk.singerlib import Message, RecordMessage
from singer_sdk.singerlib.encoding import GenericSingerWriter
from singer_sdk.singerlib.json import serialize_json
from typing_extensions import override

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE


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
        # e.g. an integer beyond 64 bits: simplejson handles what orjson refuses.
        return (serialize_json(data) + "\n").encode()


class FastSingerWriter(GenericSingerWriter[bytes, Message]):
    """Writes Singer messages with orjson, flushing only after non-RECORD messages."""

    @override
    def serialize_message(self, message: Message) -> bytes:
        return serialize_line(message.to_dict())

    @override
    def write_message(self, message: Message) -> None:
        line = self.format_message(message)
        stdout = sys.stdout  # looked up each time: callers may redirect it
        binary = getattr(stdout, "buffer", None)
        if binary is None:  # a text stream such as io.StringIO
            stdout.write(line.decode())
        else:
            binary.write(line)
        if not isinstance(message, RecordMessage):
            stdout.flush()
