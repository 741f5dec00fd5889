"""Singer input parsed with orjson: the SDK's documented ``message_reader_class`` hook.

The SDK's reader parses each line with the stdlib and turns every non-integer number into a
``Decimal``; the sinks then turn those back into ``float`` for the JSON payload
(``records.decimal_to_number``). orjson parses straight to ``float``, which is what Planhat
receives either way, several times faster. A line orjson refuses goes to the SDK's parser,
so errors and their messages stay the SDK's. One difference: an integer beyond 64 bits
arrives as a float (Planhat stores numbers as 64-bit values anyway).

The reader also counts lines: an input that breaks the Singer protocol (a line that is not
JSON, a RECORD before its SCHEMA, a stream no model matches) fails the run with a message
naming the line number and the stream, so the user can find it in a large file or pipe.

In a dry run the reader hands STATE messages elsewhere (:meth:`FastSingerReader.divert_state`)
instead of to the target, which then never has a STATE to write: Meltano saves every STATE a
target writes, so a dry run that passed the tap's bookmark on would make the next real run
start after the records the dry run did not write (docs/writes.md, "Dry runs and Meltano
state").
"""

from __future__ import annotations

import re
from typing import IO, TYPE_CHECKING, Any

import orjson
from singer_sdk.exceptions import InvalidInputLine, RecordsWithoutSchemaException
from singer_sdk.io_base import SingerMessageType, SingerReader
from typing_extensions import override

from target_planhat.errors import StreamSetupError

if TYPE_CHECKING:
    from collections import Counter
    from collections.abc import Callable, Iterable, Iterator

#: Failures that are about the input itself, so its position helps (API errors are not).
_INPUT_ERRORS = (InvalidInputLine, RecordsWithoutSchemaException, StreamSetupError)
_STREAM_IN_TEXT = re.compile(r'"stream"\s*:\s*"((?:[^"\\]|\\.)*)"')


class FastSingerReader(SingerReader):
    """Reads Singer lines with orjson, falling back to the SDK's parser when it must."""

    def __init__(self) -> None:
        """No line read yet."""
        super().__init__()
        self.line_number = 0
        self.stream: str | None = None
        self._state_handler: Callable[[dict], None] | None = None

    def divert_state(self, handler: Callable[[dict], None]) -> None:
        """Hand every STATE message to ``handler`` instead of the target."""
        self._state_handler = handler

    @override
    def deserialize_json(self, line: str) -> dict[str, Any]:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            found = _STREAM_IN_TEXT.search(line)
            self.stream = found.group(1) if found else None
            return super().deserialize_json(line)
        if not isinstance(message, dict):
            self.stream = None
            return super().deserialize_json(line)
        stream = message.get("stream")
        self.stream = stream if isinstance(stream, str) else None
        return message

    @override
    def process_lines(
        self,
        file_input: IO[str] | None,
        callbacks: dict[str, Callable[[dict], None]],
    ) -> Counter[str]:
        lines = self._numbered(file_input if file_input is not None else self.default_input)
        if self._state_handler is not None:
            # The SDK's target sets the STATE it writes only in this callback (contract test
            # test_a_state_the_reader_diverts_is_never_written).
            callbacks = {**callbacks, SingerMessageType.STATE: self._state_handler}
        try:
            # Any iterable of lines does: the SDK only iterates over its input.
            return super().process_lines(lines, callbacks)  # type: ignore[arg-type]
        except _INPUT_ERRORS as exc:
            where = f"Input line {self.line_number}"
            if self.stream is not None:
                where += f" (stream '{self.stream}')"
            raise type(exc)(f"{where}: {exc}") from exc

    def _numbered(self, lines: Iterable[str]) -> Iterator[str]:
        for self.line_number, line in enumerate(lines, 1):
            yield line
