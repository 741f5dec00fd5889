"""The run's sinks: companies written before the records that reference them, and the run's end.

The SDK cleans sinks up only at end of input, each after it was drained, and writes the final
STATE only after every clean-up returned; so raising from :meth:`SinkRegistry.finish_run` fails
the run without that STATE. A sink replaced by a schema change is cleaned up before the active
ones are drained: the run ends only once no sink still holds records.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from planhat_common.registry import get_model
from target_planhat.errors import RejectedRecordsError

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from singer_sdk.sinks import Sink

    from planhat_common.registry import Model
    from target_planhat.outcomes.counts import RunSummary
    from target_planhat.outcomes.files import RunFiles
    from target_planhat.outcomes.late_ids import LateIds
    from target_planhat.settings import TargetSettings
    from target_planhat.sinks.writer import BatchWriter

COMPANIES = get_model("companies").name


class SinkRegistry:
    """Knows every sink of the run and the model it writes (None: it only counts)."""

    def __init__(
        self,
        *,
        drain: Callable[[Sink], None],
        writer: BatchWriter,
        summary: RunSummary,
        files: RunFiles,
        late_ids: LateIds,
        settings: TargetSettings,
        logger: logging.Logger,
    ) -> None:
        """``drain`` writes a sink's pending batch (the SDK's ``Target.drain_one``)."""
        self._drain = drain
        self._writer = writer
        self._late_ids = late_ids
        self._summary = summary
        self._files = files
        self._settings = settings
        self._logger = logger
        self._lock = threading.Lock()
        self._sinks: list[tuple[Sink, Model | None]] = []
        self._cleaned: set[int] = set()
        self._finished = False

    def register(self, sink: Sink, model: Model | None) -> None:
        """Remember a sink, so the run ends only once none holds unsent records."""
        with self._lock:
            self._sinks.append((sink, model))

    def drain(self, sink: Sink) -> None:
        """Write ``sink``'s pending batch now."""
        self._drain(sink)

    def drain_parents_of(self, sink: Sink, model: Model) -> None:
        """Write pending companies (and other referenced models) before records of ``model``."""
        parent_models = {target for _field, target in model.references}
        if model.company_field:
            parent_models.add(COMPANIES)
        if not parent_models:
            return
        with self._lock:
            parents = [
                other
                for other, written in self._sinks
                if other is not sink
                and written is not None
                and written.name in parent_models
                and other.current_size > 0
            ]
        for parent in parents:
            self._drain(parent)

    def finish_run(self, sink: Sink) -> None:
        """At a sink's clean-up: once none holds records, end the run (once).

        Stops the writer, looks up the ids the answers did not give (after the last write, so
        the listing has every record created), logs the summary, closes the files and raises
        RejectedRecordsError when more than ``max_rejected`` records were rejected.
        """
        with self._lock:
            self._cleaned.add(id(sink))
            pending = [
                s for s, _ in self._sinks if id(s) not in self._cleaned and s.current_size > 0
            ]
            if self._finished or pending:
                return
            self._finished = True
        self._writer.close()  # drained already; this only stops its thread
        self._late_ids.resolve()
        dry_run = self._settings.dry_run
        self._logger.info(
            "Planhat load summary%s:\n%s",
            " (dry run, a forecast: nothing written)" if dry_run else "",
            self._summary.table(dry_run=dry_run),
        )
        rejected = self._summary.rejected()
        self._files.close()
        dead_letter = self._files.dead_letter.path
        if rejected:
            self._logger.warning(
                "%d record(s) rejected; see the dead letter file %s", rejected, dead_letter
            )
        max_rejected = self._settings.max_rejected
        if rejected > max_rejected:
            raise RejectedRecordsError(
                f"{rejected} record(s) were rejected, more than max_rejected={max_rejected}. "
                f"Rejected records are in {dead_letter}."
            )
