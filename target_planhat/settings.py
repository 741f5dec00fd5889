"""The target's settings: their schema, and the values the run reads from them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from singer_sdk import typing as th

from planhat_common.errors import SettingsError
from planhat_common.registry import MAX_BODY_BYTES
from planhat_common.settings import connection_properties
from target_planhat.mapping.options import Mode
from target_planhat.outcomes import push_ledger, sync_ledger

if TYPE_CHECKING:
    from collections.abc import Mapping

USER_AGENT = "target-planhat (planhat-singer)"
DEFAULT_DEAD_LETTER_PATH = "./planhat_dead_letter.jsonl"
DEFAULT_MAX_BATCH_BYTES = 10 * 1024 * 1024
MIN_BATCH_BYTES = 1024

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

CONFIG_SCHEMA = th.PropertiesList(
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
        "made, without writing anything. No STATE is passed on, so under Meltano the "
        "bookmark stays where it was and the next real run writes the same records.",
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
        title="Push ledger path",
        description="File remembering digests of metrics and user activities already "
        "pushed, so a rerun after a crash does not push them twice (pushes are appends, "
        "not upserts). Default: .planhat_push_ledger.jsonl in the Meltano project's root "
        "(under Meltano), else target-planhat/push_ledger.jsonl in the user's state "
        "directory; never the current directory. Empty: off.",
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
        title="Sync ledger path",
        description="File of digests (never values) of the records Planhat confirmed, "
        "per stream and key, for skip_unchanged. Default: .planhat_sync_ledger in the Meltano "
        "project's root (under Meltano), else target-planhat/sync_ledger in the user's state "
        "directory ($XDG_STATE_HOME, ~/.local/state); never the current directory. On "
        "runners whose disk does not outlive the run, set it to a kept volume. Empty: off.",
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


@dataclass(frozen=True)
class TargetSettings:
    """The settings the sinks and the end of the run act on (stream routing aside)."""

    dry_run: bool
    hard_delete: bool
    #: The setting only: unchanged records are left out when the sync ledger is on as well.
    skip_unchanged: bool
    skip_unknown_streams: bool
    max_batch_bytes: int
    max_rejected: int
    dead_letter_path: str
    results_path: str | None
    push_ledger_path: str | None
    push_ledger_hours: float
    sync_ledger_path: str | None

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], environ: Mapping[str, str] = os.environ
    ) -> TargetSettings:
        """Read the settings; raise SettingsError for a value out of range.

        ``environ`` tells where the ledgers go when their paths are not set (under Meltano:
        ``MELTANO_PROJECT_ROOT``, see outcomes/locations.py).
        """
        hours = config.get("push_ledger_hours")
        ledger = (
            config["sync_ledger_path"]  # None or "" turns it off
            if "sync_ledger_path" in config
            else str(sync_ledger.default_path(environ))
        )
        pushes = (
            config["push_ledger_path"]
            if "push_ledger_path" in config
            else str(push_ledger.default_path(environ))
        )
        settings = cls(
            dry_run=bool(config.get("dry_run")),
            hard_delete=bool(config.get("hard_delete")),
            skip_unchanged=bool(config.get("skip_unchanged", True)),
            skip_unknown_streams=bool(config.get("skip_unknown_streams")),
            max_batch_bytes=int(config.get("max_batch_bytes") or DEFAULT_MAX_BATCH_BYTES),
            max_rejected=int(config.get("max_rejected") or 0),
            dead_letter_path=config.get("dead_letter_path") or DEFAULT_DEAD_LETTER_PATH,
            results_path=config.get("results_path"),
            push_ledger_path=pushes,
            push_ledger_hours=push_ledger.DEFAULT_HOURS if hours is None else float(hours),
            sync_ledger_path=ledger,
        )
        if not MIN_BATCH_BYTES <= settings.max_batch_bytes <= MAX_BODY_BYTES:
            raise SettingsError(
                f"max_batch_bytes must be between {MIN_BATCH_BYTES} and {MAX_BODY_BYTES}, "
                f"got {settings.max_batch_bytes}."
            )
        return settings
