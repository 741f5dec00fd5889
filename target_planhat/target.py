"""TargetPlanhat: the Target class, its settings, stream routing and the end-of-run summary."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

import click
from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import PluginCapabilities, TargetCapabilities
from singer_sdk.mapper import RemoveRecordTransform
from singer_sdk.target_base import Target
from typing_extensions import override

from planhat_common.about import VersionedAbout
from planhat_common.cli import run_command
from planhat_common.client import PlanhatClient
from planhat_common.errors import PlanhatError, SettingsError
from planhat_common.http import redact
from planhat_common.registry import MAX_BODY_BYTES, MODELS, Model, Verb, find_model, get_model
from planhat_common.runtime import tune_gc
from planhat_common.settings import PlanhatConnection, connection_properties
from target_planhat import push_ledger, sync_ledger
from target_planhat.connection_check import run_checks
from target_planhat.dead_letter import DeadLetter
from target_planhat.errors import RejectedRecordsError, UnknownStreamError
from target_planhat.reader import FastSingerReader
from target_planhat.records import (
    CustomFieldsPolicy,
    MappingOptions,
    Mode,
    resolve_key_field,
)
from target_planhat.results import StreamCounts, summary_table
from target_planhat.results_file import ResultsFile
from target_planhat.sinks import (
    BulkUpsertSink,
    PlanhatSink,
    PushSink,
    SingleRecordSink,
    SkipSink,
)
from target_planhat.writer import BatchWriter, prefer_the_writer

if TYPE_CHECKING:
    from singer_sdk.helpers.capabilities import CapabilitiesEnum
    from singer_sdk.sinks import Sink

USER_AGENT = "target-planhat (planhat-singer)"
COMPANIES = get_model("companies").name
DEFAULT_DEAD_LETTER_PATH = "./planhat_dead_letter.jsonl"
DEFAULT_MAX_BATCH_BYTES = 10 * 1024 * 1024

_CUSTOM_FIELDS_SCHEMA = th.CustomType(
    {
        "anyOf": [
            {"type": "string", "enum": ["all", "off"]},
            {"type": "array", "items": {"type": "string"}},
        ]
    }
)
_CUSTOM_FIELDS_HELP = (
    "Where record fields that are not standard fields of the model go: 'all' (default) puts "
    "every one into the record's `custom` object; 'off' sends them as they are at the top "
    "level; a list of names puts those into `custom` and sends the rest as they are."
)


@dataclass(frozen=True)
class Route:
    """Where a stream goes and how."""

    stream: str
    model: Model
    mode: Mode
    mapping: MappingOptions

    @property
    def sink_class(self) -> type[Sink]:
        """The sink that writes this model."""
        if self.model.supports(Verb.PUSH):
            return PushSink
        if self.model.supports(Verb.BULK_UPSERT):
            return BulkUpsertSink
        return SingleRecordSink


#: Marks custom field definitions that could not be read (no parent is named so).
UNREADABLE = "\0unreadable"
#: Notes are conversations of type "note" and need a company (Planhat's Note page; see
#: docs/writes.md): a stream named for notes writes conversations with these.
NOTE_NAMES = frozenset({"notes", "note"})
NOTE_DEFAULTS = {"type": "note"}
NOTE_REQUIRED = ("companyId",)


def _routed_name(stream_name: str, settings: dict[str, Any]) -> str:
    """The name a stream routes by: its model setting, else its name without a schema."""
    name = str(settings.get("model") or stream_name)
    for separator in ("-", "."):
        name = name.rsplit(separator, 1)[-1]
    return name.lower()


def _writable(model: Model) -> bool:
    return any(model.supports(v) for v in (Verb.PUSH, Verb.BULK_UPSERT, Verb.CREATE, Verb.UPDATE))


def _with_aliases(model: Model) -> str:
    """``companies (account, accounts, company)``: the names a stream may carry for ``model``."""
    aliases = sorted(model.accepted_names - {model.name})
    return f"{model.name} ({', '.join(aliases)})" if aliases else model.name


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
    package_name = "planhat-singer"
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

    config_jsonschema = th.PropertiesList(
        *connection_properties(USER_AGENT),
        th.Property(
            "streams",
            th.ObjectType(
                additional_properties=th.ObjectType(
                    th.Property(
                        "model",
                        th.StringType,
                        description="Planhat model (or alias) the stream writes to.",
                    ),
                    th.Property(
                        "key",
                        th.StringType,
                        description="Keyable to match records by (_id, sourceId, externalId, "
                        "email for endusers). Default: the first keyable the record carries.",
                    ),
                    th.Property(
                        "mode",
                        th.StringType,
                        allowed_values=[m.value for m in Mode],
                        description="upsert (default), update_only or create_only.",
                    ),
                    th.Property(
                        "custom_fields", _CUSTOM_FIELDS_SCHEMA, description=_CUSTOM_FIELDS_HELP
                    ),
                    additional_properties=False,
                )
            ),
            title="Streams",
            description="Per-stream settings, keyed by stream name: {model, key, mode, "
            "custom_fields}. Streams not listed route by name or alias.",
        ),
        th.Property(
            "skip_unknown_streams",
            th.BooleanType,
            default=False,
            title="Skip unknown streams",
            description="Skip (and count) records of streams that match no Planhat model "
            "instead of failing at their SCHEMA message.",
        ),
        th.Property(
            "custom_fields",
            _CUSTOM_FIELDS_SCHEMA,
            default="all",
            title="Custom fields",
            description=_CUSTOM_FIELDS_HELP,
        ),
        th.Property(
            "exclude_properties",
            th.ArrayType(th.StringType),
            default=[],
            title="Exclude properties",
            description="Record fields never sent to Planhat.",
        ),
        th.Property(
            "max_batch_bytes",
            th.IntegerType,
            default=DEFAULT_MAX_BATCH_BYTES,
            title="Max batch bytes",
            description="Largest request body in bytes (at most 32 MiB); batches are split to "
            "stay under it.",
        ),
        th.Property(
            "dead_letter_path",
            th.StringType,
            default=DEFAULT_DEAD_LETTER_PATH,
            title="Dead letter path",
            description="JSONL file that rejected records are appended to (stream, model, "
            "reason, key, record, time).",
        ),
        th.Property(
            "max_rejected",
            th.IntegerType,
            default=0,
            title="Max rejected",
            description="Fail the run (non-zero exit, no final STATE) when more records than "
            "this were rejected.",
        ),
        th.Property(
            "dry_run",
            th.BooleanType,
            default=False,
            title="Dry run",
            description="Validate, map and batch records and log the calls that would be "
            "made, without writing anything.",
        ),
        th.Property(
            "hard_delete",
            th.BooleanType,
            default=False,
            title="Hard delete",
            description="Delete Planhat records whose Singer record carries "
            "_sdc_deleted_at (by _id, or resolving the key with one list scan).",
        ),
        th.Property(
            "push_ledger_path",
            th.StringType,
            default=push_ledger.DEFAULT_PATH,
            title="Push ledger path",
            description="File remembering digests of metrics and user activities already "
            "pushed, so a rerun after a crash does not push them twice (pushes are appends, "
            "not upserts). Empty: off.",
        ),
        th.Property(
            "push_ledger_hours",
            th.NumberType,
            default=push_ledger.DEFAULT_HOURS,
            title="Push ledger hours",
            description="How long a push is remembered; an identical item pushed again within "
            "this time by a later run is skipped.",
        ),
        th.Property(
            "skip_unchanged",
            th.BooleanType,
            default=True,
            title="Skip unchanged records",
            description="Do not send a record identical to what an earlier successful run "
            "sent for the same stream and key (sync_ledger_path keeps digests of confirmed "
            "writes). Set false for a full send, e.g. with `meltano run --full-refresh`, "
            "which Meltano does not pass on to loaders.",
        ),
        th.Property(
            "sync_ledger_path",
            th.StringType,
            default=sync_ledger.DEFAULT_PATH,
            title="Sync ledger path",
            description="File of digests (never values) of the records Planhat confirmed, "
            "per stream and key, for skip_unchanged. Empty: off.",
        ),
        th.Property(
            "results_path",
            th.StringType,
            title="Results file",
            description="JSONL file that gets one line per record: stream, key, Planhat "
            "_id, outcome (created, updated, unchanged, deleted, written, skipped, rejected, "
            "unknown) and reason. Off when empty; not written in dry runs.",
        ),
        th.Property(
            "load_method",
            th.StringType,
            default="upsert",
            allowed_values=["upsert"],
            title="Load method",
            description="Always upsert; use streams.<name>.mode for update_only or create_only.",
        ),
    ).to_dict()

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
        if not run_checks(target.client, target.connection):
            raise SystemExit(1)

    def __init__(self, **kwargs: Any) -> None:
        """Set up the run: one bulk call at a time (Planhat asks for sequential writes)."""
        super().__init__(**kwargs)
        self.max_parallelism = 1
        self._routes: dict[str, Route | None] = {}
        self._counts: dict[str, tuple[str, str, StreamCounts]] = {}
        self._key_indexes: dict[str, dict[tuple[str, str], str]] = {}
        self._custom_names: dict[str, list[str]] | None = None
        self._users_by_email: dict[str, str] | None = None
        self._warned_unknown: set[str] = set()
        self._finished = False
        self._sinks: list[Sink] = []
        self._cleaned: set[int] = set()
        self._lock = threading.Lock()
        self._check_config()

    # -- shared run state -------------------------------------------------------------------

    @cached_property
    def connection(self) -> PlanhatConnection:
        """Session, budget, retry policy and hosts from the connection settings."""
        return PlanhatConnection(self.config)

    @cached_property
    def writer(self) -> BatchWriter:
        """Runs the sinks' writes one at a time, full batches in the background."""
        return BatchWriter()

    @cached_property
    def client(self) -> PlanhatClient:
        """The one client every sink sends through."""
        return PlanhatClient(self.connection)

    @cached_property
    def dead_letter(self) -> DeadLetter:
        """The dead letter file (created on the first rejection)."""
        path = self.config.get("dead_letter_path") or DEFAULT_DEAD_LETTER_PATH
        return DeadLetter(path, self.connection.secrets)

    @cached_property
    def push_ledger(self) -> push_ledger.PushLedger:
        """Pushes of earlier runs (off in dry runs: nothing is pushed)."""
        path = None if self.config.get("dry_run") else self.config.get("push_ledger_path")
        hours = self.config.get("push_ledger_hours")
        hours = push_ledger.DEFAULT_HOURS if hours is None else float(hours)
        return push_ledger.PushLedger(path, hours)

    @cached_property
    def sync_ledger(self) -> sync_ledger.SyncLedger:
        """Digests of what earlier runs wrote (read, never written, in dry runs)."""
        return sync_ledger.SyncLedger(
            self.config.get("sync_ledger_path", sync_ledger.DEFAULT_PATH),
            read_only=bool(self.config.get("dry_run")),
        )

    @cached_property
    def results(self) -> ResultsFile | None:
        """The results file, if one is set (never in dry runs: nothing is written)."""
        path = self.config.get("results_path")
        if not path or self.config.get("dry_run"):
            return None
        return ResultsFile(path, self.connection.secrets)

    def known_id(self, model: Model, key: tuple[str, str]) -> str | None:
        """A key's Planhat ``_id`` from a key scan this run already made (no call)."""
        with self._lock:
            return self._key_indexes.get(model.name, {}).get(key) or None

    @property
    def skip_unchanged(self) -> bool:
        """Whether records an earlier run wrote unchanged are left out."""
        return bool(self.config.get("skip_unchanged", True)) and self.sync_ledger.enabled

    @property
    def max_batch_bytes(self) -> int:
        """Byte cap per request body."""
        return int(self.config.get("max_batch_bytes") or DEFAULT_MAX_BATCH_BYTES)

    def client_path(self, url: str) -> str:
        """The path of ``url`` with secrets redacted, for logs."""
        return redact(urlsplit(url).path, self.connection.secrets)

    def counts_for(self, stream_name: str, route: Route | None) -> StreamCounts:
        """The run's counters for a stream (shared by every sink of that stream)."""
        with self._lock:
            if stream_name not in self._counts:
                model = route.model.planhat_name if route else "(skipped)"
                mode = "-" if route is None else "push" if route.mapping.push else route.mode.value
                self._counts[stream_name] = (model, mode, StreamCounts())
            return self._counts[stream_name][2]

    def custom_field_names(self, model: Model, counts: StreamCounts) -> list[str] | None:
        """Names of the tenant's custom fields of ``model``: one /customfields listing per run.

        None when the listing is not allowed or not there: columns then keep their names.
        """
        with self._lock:
            if self._custom_names is None:
                self._custom_names = self._read_custom_names(counts)
            if UNREADABLE in self._custom_names:
                return None
            return self._custom_names.get(model.planhat_name.lower(), [])

    def _read_custom_names(self, counts: StreamCounts) -> dict[str, list[str]]:
        definitions = get_model("custom_fields")
        assert definitions.path is not None  # noqa: S101 - a listed model
        by_parent: dict[str, list[str]] = {}
        try:
            for item in self.client.list_all(
                definitions.path,
                select="name,parent",
                limit=definitions.page_cap,
                on_page=counts.count_call,
            ):
                parent, name = str(item.get("parent") or ""), item.get("name")
                if isinstance(name, str) and name:
                    by_parent.setdefault(parent.lower(), []).append(name)
        except PlanhatError as exc:
            self.logger.warning(
                "Custom field definitions could not be read (%s): columns that are not "
                "standard fields go into `custom` under their own names.",
                exc,
            )
            return {UNREADABLE: []}
        return by_parent

    def user_ids_by_email(self, counts: StreamCounts) -> dict[str, str]:
        """Team members' ``_id`` by lower-cased email: one /users listing per run."""
        with self._lock:
            if self._users_by_email is None:
                users = get_model("users")
                assert users.path is not None  # noqa: S101 - a listed model
                self.logger.info("Listing team members (_id, email) once for this run")
                found: dict[str, str] = {}
                for item in self.client.list_all(
                    users.path, select="_id,email", limit=users.page_cap, on_page=counts.count_call
                ):
                    email, user_id = item.get("email"), item.get("_id")
                    if isinstance(email, str) and isinstance(user_id, str):
                        found.setdefault(email.strip().lower(), user_id)
                self._users_by_email = found
            return self._users_by_email

    def key_index(
        self, model: Model, counts: StreamCounts | None = None
    ) -> dict[tuple[str, str], str]:
        """Existing ``(keyable, value) -> _id`` of a model: one list scan, cached for the run.

        The scan's calls are counted in ``counts`` (the stream that needed it first).
        """
        with self._lock:
            index = self._key_indexes.get(model.name)
            if index is not None:
                return index
            index = {}
            if model.path and model.readable:
                select = ",".join(dict.fromkeys(("_id", *model.keyables)))
                self.logger.info(
                    "Listing %s keys (%s) once for this run", model.planhat_name, select
                )
                on_page = counts.count_call if counts is not None else None
                for item in self.client.list_all(
                    model.path, select=select, limit=model.page_cap, on_page=on_page
                ):
                    record_id = str(item.get("_id") or "")
                    for name in model.keyables:
                        value = item.get(name)
                        if value not in (None, "") and not isinstance(value, (dict, list)):
                            index[name, str(value)] = record_id
            self._key_indexes[model.name] = index
            return index

    def ids_absent_from(
        self, model: Model, keys: set[tuple[str, str]], written: set[str], counts: StreamCounts
    ) -> list[str]:
        """Ids of the model's Planhat records matching none of ``keys`` (one fresh scan)."""
        assert model.path is not None  # noqa: S101 - callers check
        select = ",".join(dict.fromkeys(("_id", *model.keyables)))
        absent = []
        for item in self.client.list_all(
            model.path, select=select, limit=model.page_cap, on_page=counts.count_call
        ):
            record_id = str(item.get("_id") or "")
            if not record_id or record_id in written:
                continue
            if not any((name, str(item.get(name))) in keys for name in model.keyables):
                absent.append(record_id)
        return absent

    def drain_parents_of(self, sink: PlanhatSink) -> None:
        """Write pending companies before records that reference them."""
        if not sink.route.model.company_field:
            return
        with self._lock:
            parents = [
                s
                for s in self._sinks
                if isinstance(s, PlanhatSink)
                and s is not sink
                and s.route.model.name == COMPANIES
                and s.current_size > 0
            ]
        for parent in parents:
            self.drain_one(parent)

    # -- routing ----------------------------------------------------------------------------

    def _stream_settings(self, stream_name: str) -> dict[str, Any]:
        streams = self.config.get("streams") or {}
        if stream_name in streams:
            return dict(streams[stream_name] or {})
        lowered = stream_name.lower()
        for name, settings in streams.items():
            if name.lower() == lowered:
                return dict(settings or {})
        return {}

    @staticmethod
    def _model_for_name(stream_name: str) -> Model | None:
        model = find_model(stream_name)
        if model is None:
            # Taps often prefix a schema: "public-companies", "crm.contacts".
            for separator in ("-", "."):
                if separator in stream_name:
                    model = find_model(stream_name.rsplit(separator, 1)[1])
                    if model is not None:
                        break
        return model

    def _build_route(self, stream_name: str) -> Route | None:
        settings = self._stream_settings(stream_name)
        if settings.get("model"):
            try:
                model = get_model(str(settings["model"]))
            except KeyError as exc:
                raise UnknownStreamError(f"streams.{stream_name}.model: {exc.args[0]}") from exc
        else:
            found = self._model_for_name(stream_name)
            if found is None:
                return None
            model = found
        if not _writable(model):
            raise UnknownStreamError(
                f"Stream '{stream_name}' routes to {model.planhat_name}, which the Planhat API "
                "does not let us write."
            )
        mode = Mode(settings.get("mode") or Mode.UPSERT.value)
        push = model.supports(Verb.PUSH)
        if push and mode is not Mode.UPSERT:
            raise UnknownStreamError(
                f"streams.{stream_name}.mode: {model.planhat_name} items are pushed; only "
                "'upsert' applies."
            )
        try:
            key = None if push else resolve_key_field(model, settings.get("key"))
            custom = CustomFieldsPolicy.parse(
                settings.get("custom_fields", self.config.get("custom_fields", "all"))
            )
        except ValueError as exc:
            raise UnknownStreamError(f"streams.{stream_name}: {exc}") from exc
        note = _routed_name(stream_name, settings) in NOTE_NAMES
        mapping = MappingOptions(
            model=model,
            key=key,
            custom_fields=custom,
            exclude=frozenset(self.config.get("exclude_properties") or ()),
            push=push,
            defaults=NOTE_DEFAULTS if note else {},
            required=NOTE_REQUIRED if note else (),
        )
        return Route(stream_name, model, mode, mapping)

    def route_for(self, stream_name: str) -> Route:
        """The route of a known stream (raises for unknown ones)."""
        route = self.find_route(stream_name)
        if route is None:
            raise UnknownStreamError(self._unknown_message(stream_name))
        return route

    def find_route(self, stream_name: str) -> Route | None:
        """The route of a stream, or None when no model matches it."""
        if stream_name not in self._routes:
            self._routes[stream_name] = self._build_route(stream_name)
        return self._routes[stream_name]

    @staticmethod
    def _unknown_message(stream_name: str) -> str:
        accepted = "; ".join(_with_aliases(m) for m in MODELS if _writable(m))
        return (
            f"Stream '{stream_name}' matches no Planhat model. Accepted models (and their "
            f"aliases): {accepted}. Map it with streams.{stream_name}.model, or set "
            "skip_unknown_streams to skip it."
        )

    def _dropped_by_stream_maps(self, stream_name: str) -> bool:
        maps = self.mapper.stream_maps.get(stream_name) or []
        return bool(maps) and all(isinstance(m, RemoveRecordTransform) for m in maps)

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        """Route a stream at its SCHEMA message; unknown streams fail here or are skipped.

        A stream the stream maps drop (``<stream>: __NULL__``) still sends its SCHEMA here;
        it gets a sink that only counts, whatever its name.
        """
        if self._dropped_by_stream_maps(stream_name):
            return SkipSink
        route = self.find_route(stream_name)
        if route is not None:
            how = (
                "push"
                if route.mapping.push
                else f"{route.mode.value}, key: {route.mapping.key or 'first keyable present'}"
            )
            self.logger.info("Stream '%s' -> %s (%s)", stream_name, route.model.planhat_name, how)
            return route.sink_class
        if not self.config.get("skip_unknown_streams"):
            raise UnknownStreamError(self._unknown_message(stream_name))
        if stream_name not in self._warned_unknown:
            self._warned_unknown.add(stream_name)
            self.logger.warning(
                "Skipping stream '%s': it matches no Planhat model (skip_unknown_streams).",
                stream_name,
            )
        return SkipSink

    def _check_config(self) -> None:
        # Before reading any input: refuse clear-text URLs, and have every log line (libraries
        # log record contexts and URLs at DEBUG) redacted of the tokens from the start.
        _ = self.connection.api_url, self.connection.analytics_url
        cap = self.max_batch_bytes
        if not 1024 <= cap <= MAX_BODY_BYTES:  # noqa: PLR2004
            raise SettingsError(
                f"max_batch_bytes must be between 1024 and {MAX_BODY_BYTES}, got {cap}."
            )
        for stream_name in self.config.get("streams") or {}:
            if self._build_route(stream_name) is None:
                raise UnknownStreamError(self._unknown_message(stream_name))

    # -- end of run -------------------------------------------------------------------------

    def register_sink(self, sink: Sink) -> None:
        """Remember a sink, so the run ends only once none holds unsent records."""
        with self._lock:
            self._sinks.append(sink)

    def finish_run(self, sink: Sink) -> None:
        """At a sink's clean-up: log the summary and enforce ``max_rejected``, once.

        The SDK cleans sinks up only at end of input, each after it was drained, and writes
        the final STATE only after every clean-up returned; so raising here fails the run
        without that STATE. The summary waits until no other sink still holds records (a
        sink replaced by a schema change is cleaned up before the active ones are drained).
        """
        with self._lock:
            self._cleaned.add(id(sink))
            pending = [s for s in self._sinks if id(s) not in self._cleaned and s.current_size > 0]
            if self._finished or pending:
                return
            self._finished = True
        self.writer.close()  # drained already; this only stops its thread
        dry_run = bool(self.config.get("dry_run"))
        self.logger.info(
            "Planhat load summary%s:\n%s",
            " (dry run, a forecast: nothing written)" if dry_run else "",
            summary_table(self._counts, dry_run=dry_run),
        )
        rejected = sum(counts.rejected for _, _, counts in self._counts.values())
        if "dead_letter" in self.__dict__:
            self.dead_letter.close()
        if "sync_ledger" in self.__dict__:
            self.sync_ledger.close()
        if self.results is not None:
            self.results.close()
        if rejected:
            self.logger.warning(
                "%d record(s) rejected; see the dead letter file %s",
                rejected,
                self.dead_letter.path,
            )
        max_rejected = int(self.config.get("max_rejected") or 0)
        if rejected > max_rejected:
            raise RejectedRecordsError(
                f"{rejected} record(s) were rejected, more than max_rejected={max_rejected}. "
                f"Rejected records are in {self.dead_letter.path}."
            )


def main() -> None:
    """The ``target-planhat`` command."""
    tune_gc()
    prefer_the_writer()
    run_command(TargetPlanhat.cli, TargetPlanhat.name)
