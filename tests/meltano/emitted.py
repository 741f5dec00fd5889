"""What tap-planhat emits for a sandbox record: the yardstick for what loaders stored."""

from __future__ import annotations

from typing import Any

from planhat_common.registry import CUSTOM_FIELD_TYPES, get_model
from tap_planhat.conversions import FieldCheck


class Emitted:
    """A sandbox's records as the tap emits them: listed as Planhat lists them, then each
    typed value converted (or null, when the tap rescues it)."""

    def __init__(self, sandbox: Any) -> None:
        """Read the users (for list-style references) and custom field definitions."""
        self.nicknames = {u["_id"]: u.get("nickName") for u in sandbox.records("users")}
        self.custom_types: dict[str, dict[str, Any]] = {}
        for definition in sandbox.records("custom_fields"):
            types = self.custom_types.setdefault(definition["parent"], {})
            types[definition["name"]] = CUSTOM_FIELD_TYPES[definition["type"]]

    def value(self, stream: str, field: str, record: dict[str, Any]) -> Any:
        """The value of ``field`` in the RECORD the tap emits for ``record``."""
        model = get_model(stream)
        value = record.get(field)
        if field in model.list_user_refs and isinstance(value, str):
            value = {"id": value, "nickName": self.nicknames.get(value)}
        value = _as_emitted(model.fields[field], value)
        if field == "custom" and isinstance(value, dict):
            types = self.custom_types.get(model.planhat_name, {})
            value = {k: _as_emitted(types[k], v) if k in types else v for k, v in value.items()}
        return value


def _as_emitted(field_type: Any, value: Any) -> Any:
    fits, emitted = FieldCheck(field_type)(value)
    return emitted if fits else None
