"""Stream routing: which Planhat model a stream writes to, keyed how, in which mode.

Pure: the routes come from the stream's name and the ``streams``, ``custom_fields`` and
``exclude_properties`` settings, with no call to Planhat; each route carries the stream's
mapping options (options.py). A stream listed in ``streams`` routes
by its ``model``; any other by its name or an alias, without a schema prefix (``public-companies``,
``crm.contacts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from singer_sdk.mapper import RemoveRecordTransform

from planhat_common.registry import MODELS, Model, Verb, find_model, get_model
from target_planhat.errors import UnknownStreamError
from target_planhat.mapping.keys import resolve_key_field
from target_planhat.mapping.options import CustomFieldsPolicy, MappingOptions, Mode

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: Notes are conversations of type "note" and need a company (Planhat's Note page; see
#: docs/writes.md): a stream named for notes writes conversations with these.
NOTE_NAMES = frozenset({"notes", "note"})
NOTE_DEFAULTS = {"type": "note"}
NOTE_REQUIRED = ("companyId",)


@dataclass(frozen=True)
class Route:
    """Where a stream goes and how."""

    stream: str
    model: Model
    mode: Mode
    mapping: MappingOptions

    @property
    def write_mode(self) -> str:
        """``push`` for metrics and activities, else the stream's mode (``upsert``, ...)."""
        return "push" if self.mapping.push else self.mode.value

    @property
    def description(self) -> str:
        """How the stream writes, for the log line at its SCHEMA."""
        if self.mapping.push:
            return "push"
        return f"{self.mode.value}, key: {self.mapping.key or 'first keyable present'}"


class Router:
    """The routes of a run's streams, each worked out once."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        """Read the routing settings; no stream is routed yet."""
        self._streams: Mapping[str, Any] = config.get("streams") or {}
        self._custom_fields = config.get("custom_fields", "all")
        self._exclude = frozenset(config.get("exclude_properties") or ())
        self._routes: dict[str, Route | None] = {}

    def check_settings(self) -> None:
        """Route every stream listed in ``streams``, so a mistake fails before any input."""
        for stream_name in self._streams:
            self.route_for(stream_name)

    def route_for(self, stream_name: str) -> Route:
        """The route of a known stream (raises for unknown ones)."""
        route = self.find_route(stream_name)
        if route is None:
            raise UnknownStreamError(unknown_stream_message(stream_name))
        return route

    def find_route(self, stream_name: str) -> Route | None:
        """The route of a stream, or None when no model matches it."""
        if stream_name not in self._routes:
            self._routes[stream_name] = self._build_route(stream_name)
        return self._routes[stream_name]

    def _stream_settings(self, stream_name: str) -> dict[str, Any]:
        if stream_name in self._streams:
            return dict(self._streams[stream_name] or {})
        lowered = stream_name.lower()
        for name, settings in self._streams.items():
            if name.lower() == lowered:
                return dict(settings or {})
        return {}

    def _build_route(self, stream_name: str) -> Route | None:
        settings = self._stream_settings(stream_name)
        if settings.get("model"):
            try:
                model = get_model(str(settings["model"]))
            except KeyError as exc:
                raise UnknownStreamError(f"streams.{stream_name}.model: {exc.args[0]}") from exc
        else:
            found = _model_for_name(stream_name)
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
            custom = CustomFieldsPolicy.parse(settings.get("custom_fields", self._custom_fields))
        except ValueError as exc:
            raise UnknownStreamError(f"streams.{stream_name}: {exc}") from exc
        note = _routed_name(stream_name, settings) in NOTE_NAMES
        mapping = MappingOptions(
            model=model,
            key=key,
            custom_fields=custom,
            exclude=self._exclude,
            push=push,
            defaults=NOTE_DEFAULTS if note else {},
            required=NOTE_REQUIRED if note else (),
        )
        return Route(stream_name, model, mode, mapping)


def unknown_stream_message(stream_name: str) -> str:
    """Why a stream cannot be written, with the names it could have had instead."""
    accepted = "; ".join(_with_aliases(m) for m in MODELS if _writable(m))
    return (
        f"Stream '{stream_name}' matches no Planhat model. Accepted models (and their "
        f"aliases): {accepted}. Map it with streams.{stream_name}.model, or set "
        "skip_unknown_streams to skip it."
    )


def dropped_by_stream_maps(stream_maps: Sequence[object] | None) -> bool:
    """Whether a stream's maps (``<stream>: __NULL__``) drop all its records."""
    maps = stream_maps or []
    return bool(maps) and all(isinstance(m, RemoveRecordTransform) for m in maps)


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


def _routed_name(stream_name: str, settings: Mapping[str, Any]) -> str:
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
