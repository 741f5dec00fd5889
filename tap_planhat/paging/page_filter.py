"""Which records of a list page a stream emits: each ``_id`` once, none older than the bookmark.

No HTTP here: pages in, records out, so the rules are tested on their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PageSelection:
    """The records of a page to emit, and what the page said about reading on."""

    records: list[dict[str, Any]]
    #: Newest first, the page went past the threshold: no later page holds a newer record.
    reached_bookmark: bool
    #: This page showed that the server ignores the sort: read every page from here on.
    sort_broken: bool


class PageFilter:
    """Keeps, page after page of one run, the records to emit, in page order.

    * Offset pages shift when records change during the read (docs/planhat-api.md, "Ordering
      and change filters"), so a record can reappear on the next page: it is emitted once.
      Remembering two pages of ids is enough and keeps memory flat.
    * Replication key values are normalised in place (:func:`normalise_timestamp`), so string
      order is time order.
    * With a ``threshold`` (the bookmark minus the lookback window), records older than it are
      dropped, and a page holding one ends a newest-first read; once a key rises from one
      record to the next the server did not honour the sort, and every page is read and
      filtered instead (``sort_broken``, once).
    """

    def __init__(
        self,
        replication_key: str | None,
        threshold: str | None,
        *,
        collect_ids: bool = False,
    ) -> None:
        """``collect_ids``: keep every ``_id`` of the run in :attr:`run_ids` (delete detection)."""
        self.replication_key = replication_key
        self.threshold = threshold
        self.run_ids: set[Any] | None = set() if collect_ids else None
        self.sort_honoured = True
        self._last_key: str | None = None
        self._previous: set[Any] = set()
        self._current: set[Any] = set()

    def select(self, page: list[dict[str, Any]]) -> PageSelection:
        """The records of ``page`` to emit (the run's next page)."""
        self._previous, self._current = self._current, set()
        previous, current, run_ids = self._previous, self._current, self.run_ids
        key, threshold = self.replication_key, self.threshold
        honoured, last = self.sort_honoured, self._last_key
        kept: list[dict[str, Any]] = []
        reached = False
        for record in page:
            record_id = record.get("_id")
            if record_id in previous or record_id in current:
                continue
            current.add(record_id)
            if run_ids is not None:
                run_ids.add(record_id)
            if key:
                value = record.get(key)
                if isinstance(value, str):
                    value = record[key] = normalise_timestamp(value)
                    if threshold is not None:
                        if honoured and last is not None and value > last:
                            honoured = False
                        last = value
                        if value < threshold:
                            reached = True
                            continue
            kept.append(record)
        broken = self.sort_honoured and not honoured
        self.sort_honoured, self._last_key = honoured, last
        return PageSelection(kept, reached_bookmark=reached and honoured, sort_broken=broken)


def incremental_threshold(start: dt.datetime | str | None, lookback_minutes: float) -> str | None:
    """The oldest replication key value to read again: ``start`` minus the lookback window.

    ``start`` may be a bookmark as saved (ISO text, UTC unless it says otherwise); one that
    does not parse gives None.
    """
    if isinstance(start, str):
        try:
            start = dt.datetime.fromisoformat(start)
        except ValueError:
            return None
        if start.tzinfo is None:
            start = start.replace(tzinfo=dt.UTC)
    if start is None:
        return None
    since = start - dt.timedelta(minutes=lookback_minutes)
    return normalise_timestamp(since.astimezone(dt.UTC).isoformat())


def normalise_timestamp(value: str) -> str:
    """One UTC format for replication keys, so string order is time order.

    Bookmarks are compared as strings and the SDK writes its signpost as
    ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``; Planhat sends ``...SS.mmmZ``.
    """
    if len(value) == 24 and value[-1] == "Z" and value[19] == ".":  # noqa: PLR2004
        return value[:23] + "000+00:00"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat(timespec="microseconds")
