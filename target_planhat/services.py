"""What the sinks work with: the run's shared parts, built once by TargetPlanhat.

The SDK creates each sink with the target (``Sink.__init__(target, ...)``); a sink takes these
services from it and nothing else of the target's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from target_planhat.outcomes.stream_outcomes import StreamOutcomes

if TYPE_CHECKING:
    import logging

    from singer_sdk.target_base import Target

    from planhat_common.client import PlanhatClient
    from planhat_common.settings import PlanhatConnection
    from target_planhat.lookups import KeyLookups
    from target_planhat.mapping.routing import Route, Router
    from target_planhat.outcomes.counts import RunSummary, StreamCounts
    from target_planhat.outcomes.files import RunFiles
    from target_planhat.outcomes.late_ids import LateIds
    from target_planhat.settings import TargetSettings
    from target_planhat.sinks.registry import SinkRegistry
    from target_planhat.sinks.writer import BatchWriter


@dataclass(frozen=True)
class SinkServices:
    """The run's settings, connection, writer, routes, look-ups, counts, files and sinks."""

    settings: TargetSettings
    #: Hosts and the tenant token; ``client`` sends every call through it.
    connection: PlanhatConnection
    client: PlanhatClient
    #: Runs the writes one at a time, full batches in the background.
    writer: BatchWriter
    router: Router
    lookups: KeyLookups
    #: Written records whose ``_id`` the answer did not give, looked up at the run's end.
    late_ids: LateIds
    summary: RunSummary
    files: RunFiles
    sinks: SinkRegistry

    def outcomes_for(
        self, stream: str, route: Route | None, counts: StreamCounts, logger: logging.Logger
    ) -> StreamOutcomes:
        """Where the outcomes of a stream's records go (``route`` None: a skipped stream)."""
        return StreamOutcomes(
            stream,
            route,
            counts,
            files=self.files,
            lookups=self.lookups,
            late_ids=self.late_ids,
            logger=logger,
        )


@runtime_checkable
class ServesSinks(Protocol):
    """A target whose sinks work through :class:`SinkServices` (TargetPlanhat)."""

    services: SinkServices


def services_of(target: Target) -> SinkServices:
    """The services of the target creating a sink."""
    if not isinstance(target, ServesSinks):
        raise TypeError(f"{type(target).__name__} has no SinkServices for Planhat sinks")
    return target.services
