"""The dead letter file: one JSON line per record Planhat (or the target) rejected."""

from __future__ import annotations

import datetime as dt
from typing import Any

from target_planhat.jsonlines import JsonLinesFile


class DeadLetter(JsonLinesFile):
    """Appends rejected records to a JSONL file, opened on the first rejection.

    Each line holds ``time``, ``stream``, ``model``, ``reason``, ``key`` and ``record`` (the
    record as received, without ``_sdc_*`` metadata; ``null`` for errors Planhat reported
    against a whole chunk). Every secret is redacted from the line before it is written.
    """

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
