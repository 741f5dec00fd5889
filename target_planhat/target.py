"""TargetPlanhat: the Target class, its command line, and the wiring of the run's parts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import click
from singer_sdk.helpers.capabilities import PluginCapabilities, TargetCapabilities
from singer_sdk.target_base import Target
from typing_extensions import override

from planhat_common.about import PACKAGE_NAME, VersionedAbout
from planhat_common.cli import run_command
from planhat_common.client import PlanhatClient
from planhat_common.registry import Verb
from planhat_common.runtime import tune_gc
from planhat_common.settings import PlanhatConnection
from target_planhat.connection_check import run_checks
from target_planhat.errors import UnknownStreamError
from target_planhat.lookups import KeyLookups
from target_planhat.mapping.routing import (
    Route,
    Router,
    dropped_by_stream_maps,
    unknown_stream_message,
)
from target_planhat.outcomes.counts import RunSummary, quiet_full_sink_notice
from target_planhat.outcomes.files import RunFiles
from target_planhat.outcomes.late_ids import LateIds
from target_planhat.reader import FastSingerReader
from target_planhat.services import SinkServices
from target_planhat.settings import CONFIG_SCHEMA, TargetSettings
from target_planhat.sinks.base import SkipSink
from target_planhat.sinks.bulk import BulkUpsertSink
from target_planhat.sinks.push import PushSink
from target_planhat.sinks.registry import SinkRegistry
from target_planhat.sinks.single_record import SingleRecordSink
from target_planhat.sinks.writer import BatchWriter, prefer_the_writer

if TYPE_CHECKING:
    from singer_sdk.helpers.capabilities import CapabilitiesEnum
    from singer_sdk.sinks import Sink


class TargetPlanhat(VersionedAbout, Target):
    """Singer target that writes streams into Planhat with bulk upserts.

    Streams route to Planhat models by name or alias (``companies``, ``accounts``,
    ``contacts``, ``metrics``, ...) or through the ``streams`` setting. Records are matched
    by a keyable (``_id``, ``sourceId``, ``externalId``, ``email``), merged when a batch repeats
    a key, and sent as bulk upserts of up to 5,000 items one call at a time. Metrics and user
    activities are pushed to the analytics host. Every response is read: rejected records go
    to a JSONL dead letter file, a per-stream summary is logged, and the run fails when more
    than ``max_rejected`` records were rejected. STATE is emitted only after the records before
    it were written.
    """

    name = "target-planhat"
    package_name = PACKAGE_NAME
    # orjson instead of json + Decimal for every input line (see reader.py).
    message_reader_class = FastSingerReader

    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
        TargetCapabilities.VALIDATE_RECORDS,
        TargetCapabilities.HARD_DELETE,
        PluginCapabilities.ACTIVATE_VERSION,
    ]

    config_jsonschema = CONFIG_SCHEMA

    @classmethod
    @override
    def get_singer_command(cls) -> click.Command:
        """The SDK's command, plus ``--test`` (check the connection, write nothing)."""
        command = super().get_singer_command()
        command.params.append(
            click.Option(
                ["--test"],
                is_flag=True,
                help="Check the API token and region (and the tenant token, when set) with "
                "calls that write nothing, then exit.",
            )
        )
        return command

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: Any = None,
        file_input: Any = None,
        test: bool = False,
    ) -> None:
        """Run the target, or with ``test`` only check the connection."""
        if not test or about:
            super().invoke(
                about=about, about_format=about_format, config=config, file_input=file_input
            )
            return
        target = cls(
            config=config.config if config else None,
            validate_config=True,
            parse_env_config=bool(config and config.parse_env),
        )
        if not run_checks(target.services.client, target.services.connection):
            raise SystemExit(1)

    def __init__(self, **kwargs: Any) -> None:
        """Check the settings and build the parts the sinks share.

        One bulk call at a time: Planhat asks for sequential writes.
        """
        super().__init__(**kwargs)
        self.max_parallelism = 1
        self._warned_unknown: set[str] = set()
        self._state_withheld = False
        quiet_full_sink_notice(self.logger)  # a line per written batch instead (outcomes/counts.py)
        # Before reading any input: refuse clear-text URLs, and have every log line (libraries
        # log record contexts and URLs at DEBUG) redacted of the tokens from the start.
        connection = PlanhatConnection(self.config)
        _ = connection.api_url, connection.analytics_url
        settings = TargetSettings.from_config(self.config)
        if "sync_ledger_path" not in self.config:
            # Say where the default went: it follows the Meltano project (outcomes/sync_ledger.py).
            self.logger.info(
                "Sync ledger: %s (sync_ledger_path not set)", settings.sync_ledger_path
            )
        if settings.dry_run:
            self._reader().divert_state(self._withhold_state)
        router = Router(self.config)
        router.check_settings()
        client = PlanhatClient(connection)
        writer = BatchWriter()
        summary = RunSummary()
        files = RunFiles(settings, connection.secrets)
        lookups = KeyLookups(client, self.logger)
        late_ids = LateIds(lookups, self.logger)
        sinks = SinkRegistry(
            drain=self.drain_one,
            writer=writer,
            summary=summary,
            files=files,
            late_ids=late_ids,
            settings=settings,
            logger=self.logger,
        )
        self.services = SinkServices(
            settings=settings,
            connection=connection,
            client=client,
            writer=writer,
            router=router,
            lookups=lookups,
            late_ids=late_ids,
            summary=summary,
            files=files,
            sinks=sinks,
        )

    def _reader(self) -> FastSingerReader:
        reader = self.message_reader
        if not isinstance(reader, FastSingerReader):
            raise TypeError(f"dry_run needs {FastSingerReader.__name__} as the message reader")
        return reader

    def _withhold_state(self, _message: dict) -> None:
        """Dry run: take each STATE from the SDK, which then writes none (bookmark kept).

        Meltano saves every STATE a target writes; passed on by a dry run, the tap's bookmark
        would make the next real run skip the records the dry run only planned
        (docs/writes.md, "Dry runs and Meltano state"; reader.py).
        """
        if not self._state_withheld:
            self._state_withheld = True
            self.logger.info(
                "Dry run: the input's STATE is not passed on, so the bookmark stays where it "
                "was and the next real run reads these records again"
            )

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        """Route a stream at its SCHEMA message; unknown streams fail here or are skipped.

        A stream the stream maps drop (``<stream>: __NULL__``) still sends its SCHEMA here;
        it gets a sink that only counts, whatever its name.
        """
        if dropped_by_stream_maps(self.mapper.stream_maps.get(stream_name)):
            return SkipSink
        route = self.services.router.find_route(stream_name)
        if route is not None:
            self.logger.info(
                "Stream '%s' -> %s (%s)", stream_name, route.model.planhat_name, route.description
            )
            return _sink_class(route)
        if not self.services.settings.skip_unknown_streams:
            raise UnknownStreamError(unknown_stream_message(stream_name))
        if stream_name not in self._warned_unknown:
            self._warned_unknown.add(stream_name)
            self.logger.warning(
                "Skipping stream '%s': it matches no Planhat model (skip_unknown_streams).",
                stream_name,
            )
        return SkipSink


def _sink_class(route: Route) -> type[Sink]:
    """The sink that writes the route's model."""
    if route.model.supports(Verb.PUSH):
        return PushSink
    if route.model.supports(Verb.BULK_UPSERT):
        return BulkUpsertSink
    return SingleRecordSink


def main() -> None:
    """The ``target-planhat`` command."""
    tune_gc()
    prefer_the_writer()
    run_command(TargetPlanhat.cli, TargetPlanhat.name)
