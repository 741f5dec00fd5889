"""How one stream's records are mapped: the options routing settles for a stream.

Read from the ``streams``, ``custom_fields`` and ``exclude_properties`` settings (routing.py)
and completed at the stream's SCHEMA with its column renames and key (columns.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from planhat_common.registry import Model


class Mode(enum.StrEnum):
    """What a stream may do to Planhat records."""

    UPSERT = "upsert"
    UPDATE_ONLY = "update_only"
    CREATE_ONLY = "create_only"


@dataclass(frozen=True)
class CustomFieldsPolicy:
    """Where fields the model does not know go.

    ``all``: every unknown field goes into ``custom``. ``off``: sent as they are, top level.
    A list: those fields go into ``custom``; other unknown fields are sent as they are.
    """

    mode: str = "all"
    names: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, value: Any) -> CustomFieldsPolicy:
        """Read the ``custom_fields`` setting: ``"all"``, ``"off"`` or a list of names."""
        if value is None:
            return cls()
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in {"all", "off"}:
                return cls(lowered)
            msg = f"custom_fields must be 'all', 'off' or a list of field names, got '{value}'."
            raise ValueError(msg)
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return cls("list", frozenset(value))
        msg = f"custom_fields must be 'all', 'off' or a list of field names, got {value!r}."
        raise ValueError(msg)

    def goes_to_custom(self, name: str) -> bool:
        """Whether an unknown field ``name`` belongs in ``custom``."""
        if self.mode == "all":
            return True
        if self.mode == "off":
            return False
        return name in self.names


@dataclass(frozen=True)
class MappingOptions:
    """How one stream's records become payloads."""

    model: Model
    key: str | None = None
    custom_fields: CustomFieldsPolicy = field(default_factory=CustomFieldsPolicy)
    exclude: frozenset[str] = frozenset()
    #: Push models (metrics, activities) are sent as they are: no custom mapping, no keys.
    push: bool = False
    #: Input column -> Planhat field name, for columns spelled otherwise (field_names.py).
    renames: Mapping[str, str] = field(default_factory=dict)
    #: Fields every record of the stream gets unless it has them (notes: ``type: note``).
    defaults: Mapping[str, Any] = field(default_factory=dict)
    #: Fields needed to create a record, besides the model's own (notes: ``companyId``).
    required: tuple[str, ...] = ()
