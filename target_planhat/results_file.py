"""The results file: one JSON line per record, saying what became of it in Planhat.

Set ``results_path`` to get it. Each line: ``time``, ``stream``, ``model``, ``key_field``,
``key_value``, ``planhat_id`` (Planhat's ``_id`` where known), ``outcome`` (created,
updated, unchanged, deleted, written, skipped, rejected or unknown; see attribution.py) and
``reason``. A warehouse can load it to keep Planhat's ids beside its rows and to retry the
rejected ones (docs/recipes.md, "Results file").
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from target_planhat.jsonlines import JsonLinesFile

if TYPE_CHECKING:
    from collections.abc import Iterable

    from target_planhat.attribution import RecordResult


class ResultsFile(JsonLinesFile):
    """Appends one line per record outcome."""

    def write(self, stream: str, model: str, results: Iterable[RecordResult]) -> None:
        """Append the outcomes of some records of one stream."""
        now = dt.datetime.now(tz=dt.UTC).isoformat()
        self.append(
            {
                "time": now,
                "stream": stream,
                "model": model,
                "key_field": r.record.key[0] if r.record.key else None,
                "key_value": r.record.key[1] if r.record.key else None,
                "planhat_id": r.known_id,
                "outcome": r.outcome,
                "reason": r.reason,
            }
            for r in results
        )
