"""The Planhat model registry: every model described exactly once.

The tap (streams and schemas), the target (routing, keys, standard fields) and the sandbox
(routes, matching, seed data) all read this module. A model's fields and their types come from
public evidence (``evidence.py``, ``docs/field-types.md``); its endpoints, keys and quirks are
stated here, with their sources in ``docs/planhat-api.md`` ("Models and their endpoints" and
the sections after it); where the API is unconfirmed the registry says so in ``notes``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from planhat_common.evidence import declared_fields
from planhat_common.fieldtypes import DT, SS, B, FieldType, N, S

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping


class Verb(enum.Enum):
    """What a model's endpoint accepts (docs/planhat-api.md, "Models and their endpoints")."""

    LIST = "list"
    GET = "get"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    BULK_UPSERT = "bulk_upsert"
    #: POST of an array to the analytics host (metrics, user activities; docs/planhat-api.md,
    #: "Metrics (dimension data)", "User activities").
    PUSH = "push"


ALL_RECORD_VERBS = frozenset(
    {Verb.LIST, Verb.GET, Verb.CREATE, Verb.UPDATE, Verb.DELETE, Verb.BULK_UPSERT}
)
DEFAULT_KEYABLES = ("_id", "sourceId", "externalId")
DEFAULT_PAGE_CAP = 2000
#: Planhat's documented cap on items in one bulk upsert (docs/planhat-api.md, "Bulk upsert").
BULK_UPSERT_MAX_ITEMS = 5000
#: Documented body cap of the analytics host; no cap is documented for bulk upserts, so we
#: apply it there too (docs/planhat-api.md, "Metrics (dimension data)", "Bulk upsert").
MAX_BODY_BYTES = 32 * 1024 * 1024


class Host(enum.Enum):
    """Which base URL a path is relative to (docs/planhat-api.md, "Hosts and regions").

    ``Model.path`` is on the main API, every push path on the analytics host (see
    :meth:`Model.host_of`).
    """

    API = "api"
    ANALYTICS = "analytics"


@dataclass(frozen=True)
class Model:
    """One Planhat model.

    Attributes:
        name: snake_case plural stream name, e.g. ``time_entries``.
        planhat_name: Planhat's model name, as in ``/customfields`` ``parent`` (e.g. ``EndUser``).
        path: list/get/bulk path on the main API; ``None`` for write-only analytics models.
        fields: standard fields and their declared types (anything else goes to ``custom``),
            derived from the evidence (see :func:`standard_fields`).
        verbs: what the endpoint supports.
        keyables: bulk-upsert matching keys, in matching order (docs/planhat-api.md,
            "Bulk upsert").
        company_field: the field referencing the owning company(ies), if any.
        company_name_field: the server-filled company name next to it (``companyName``;
            ``cName`` on invoices), if the model has one.
        external_id_field: the model's "your id" field (``extId`` on invoices;
            docs/planhat-api.md, "Model quirks").
        replication_key: the server-maintained update timestamp, or ``None`` (full table).
        page_cap: the largest ``limit`` the list endpoint honours (docs/planhat-api.md,
            "Page size caps").
        required_for_create: fields a bulk item must carry to create a record; for push
            models, fields every pushed item must carry (docs/planhat-api.md,
            "Required fields to create", "Metrics (dimension data)").
        aliases: other accepted names (singular, Planhat's name); matched case-insensitively.
        push_path: path on the analytics host for pushes, ``{tenant_token}`` filled in.
        single_push_path: path on the analytics host for a push of one item, if any.
        selected_by_default: whether the tap selects the stream without a catalog.
        notes: what is odd or unconfirmed about the model (docs/planhat-api.md,
            "Model quirks", "Unconfirmed verbs and paths").
        list_user_refs: user references that lists return as ``{id, nickName}`` objects and
            get-by-id as id strings (docs/planhat-api.md, "Model quirks").
        user_refs: fields holding one team member's (user's) ``_id``; target-planhat also takes
            them by email (``ownerEmail`` for ``owner`` or ``ownerId``).
        references: ``(field, model name)`` of the other records a record names by ``_id``,
            its company aside (a line item's ``dealId``); target-planhat also takes them by
            the other model's keyables (``dealExternalId``).
        parent_field: the reference to the record this one belongs to: Planhat gives it that
            record's company, and rolls its revenue up into it (docs/planhat-api.md,
            "Model quirks", revenue models).
        annual_pairs: ``(monthly, annual)`` revenue fields Planhat keeps at 12:1, computing
            the one not sent from the other.
    """

    name: str
    planhat_name: str
    path: str | None
    verbs: frozenset[Verb] = ALL_RECORD_VERBS
    keyables: tuple[str, ...] = DEFAULT_KEYABLES
    company_field: str | None = "companyId"
    company_name_field: str | None = "companyName"
    external_id_field: str | None = "externalId"
    replication_key: str | None = None
    page_cap: int = DEFAULT_PAGE_CAP
    required_for_create: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    push_path: str | None = None
    single_push_path: str | None = None
    selected_by_default: bool = True
    notes: str = ""
    list_user_refs: tuple[str, ...] = ()
    user_refs: tuple[str, ...] = ()
    references: tuple[tuple[str, str], ...] = ()
    parent_field: str | None = None
    annual_pairs: tuple[tuple[str, str], ...] = ()
    fields: Mapping[str, FieldType] = field(init=False, repr=False, compare=False)
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", standard_fields(self))
        if self.company_name_field not in self.fields:
            # Models without a denormalised name (companies, issues, NPS, ...) have none.
            object.__setattr__(self, "company_name_field", None)
        singular = _singular(self.name)
        names = {self.name, singular, self.planhat_name, *self.aliases}
        if self.path:
            names.add(self.path.strip("/"))
        object.__setattr__(self, "_names", frozenset(n.lower() for n in names))

    def supports(self, verb: Verb) -> bool:
        """Whether the model's endpoint supports ``verb``."""
        return verb in self.verbs

    @staticmethod
    def host_of(verb: Verb) -> Host:
        """The host serving ``verb``: pushes go to the analytics host, the rest to the API."""
        return Host.ANALYTICS if verb is Verb.PUSH else Host.API

    @property
    def readable(self) -> bool:
        """Whether the tap can list this model."""
        return Verb.LIST in self.verbs

    @property
    def accepted_names(self) -> frozenset[str]:
        """Every lower-cased name that routes to this model."""
        return self._names


#: Planhat's own record timestamps: its model pages document them as autogenerated ISO dates
#: (docs/field-types.md, "Registry rules"), so a plain "string" elsewhere does not widen them.
PLATFORM_TIMESTAMPS = ("createdAt", "updatedAt")


def standard_fields(model: Model) -> Mapping[str, FieldType]:
    """The fields of ``model`` with their declared types.

    The evidence gives every field some public source shows, typed as the union of what the
    sources show. Registry rules add to it (docs/field-types.md, "Registry rules"): the
    fields the registry itself relies on exist (``_id`` of listed models, bulk-upsert keys, the
    company reference); Planhat's record timestamps and the replication key are timestamps.
    """
    fields = dict(declared_fields(model.name))
    relied_on = [
        *model.keyables,
        model.company_field,
        model.external_id_field,
        *(ref for ref, _model in model.references),
    ]
    if model.path:
        relied_on.append("_id")
    for name in relied_on:
        if name and name not in fields:
            fields[name] = S
    timestamps = set(PLATFORM_TIMESTAMPS) & fields.keys()
    if model.replication_key:
        timestamps.add(model.replication_key)
    for name in timestamps:
        fields[name] = fields.get(name, DT) | DT
    return MappingProxyType(fields)


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s"):
        return name[:-1]
    return name


#: Every model, in dependency order: companies first (most models reference them), then team
#: members and endusers (referenced by owners, followers and activities). The tap emits streams
#: in this order, so a target writing them in arrival order creates parents first. The sources
#: of the paths, verbs, keys, required fields and notes are in docs/planhat-api.md:
#: "Models and their endpoints", "Required fields to create", "Model quirks" and
#: "Unconfirmed verbs and paths".
MODELS: tuple[Model, ...] = (
    Model(
        "companies",
        "Company",
        "/companies",
        company_field=None,
        replication_key="updatedAt",
        page_cap=5000,
        required_for_create=("name",),
        aliases=("account", "accounts"),
        list_user_refs=("owner", "coOwner"),
        user_refs=("owner", "coOwner"),
    ),
    Model(
        "users",
        "User",
        "/users",
        company_field=None,
        replication_key="updatedAt",
        required_for_create=("email", "nickName", "firstName", "lastName"),
        aliases=("team_members", "team_member"),
        notes="Bulk upsert and delete on /users are unconfirmed.",
    ),
    Model(
        "endusers",
        "EndUser",
        "/endusers",
        keyables=("_id", "sourceId", "externalId", "email"),
        replication_key="updatedAt",
        required_for_create=("email",),
        aliases=("contacts", "contact"),
        notes="Archived endusers are left out of the list.",
    ),
    Model(
        "assets",
        "Asset",
        "/assets",
        replication_key="updatedAt",
        required_for_create=("name", "companyId"),
        user_refs=("ownerId",),
    ),
    Model(
        "campaigns",
        "Campaign",
        "/campaigns",
    ),
    Model(
        "churn",
        "Churn",
        "/churn",
        replication_key="updatedAt",
        aliases=("churns",),
        notes="Fields only from Airbyte's schema; keep permissive.",
    ),
    Model(
        "conversations",
        "Conversation",
        "/conversations",
        replication_key="updatedAt",
        aliases=("notes", "note"),
        notes="Notes and tickets are conversation types.",
    ),
    Model(
        "custom_fields",
        "CustomField",
        "/customfields",
        verbs=ALL_RECORD_VERBS - {Verb.BULK_UPSERT},
        keyables=("_id",),
        company_field=None,
        external_id_field=None,
        required_for_create=("name", "type", "parent"),
        aliases=("customfield",),
    ),
    Model(
        "invoices",
        "Invoice",
        "/invoices",
        keyables=("_id", "sourceId", "extId"),
        company_field="cId",
        company_name_field="cName",
        external_id_field="extId",
        replication_key="lastUpdated",
        required_for_create=("currency", "cId"),
        notes="cId and extId instead of companyId and externalId.",
    ),
    Model(
        "issues",
        "Issue",
        "/issues",
        company_field="companyIds",
        replication_key="updatedAt",
        required_for_create=("title",),
    ),
    Model(
        "licenses",
        "License",
        "/licenses",
        required_for_create=("_currency", "fromDate", "companyId"),
    ),
    Model(
        "nps",
        "NPS",
        "/nps",
        keyables=("_id", "sourceId"),
        company_field="cId",
        external_id_field=None,
        required_for_create=("email", "score"),
        aliases=("npss", "nps_responses"),
    ),
    Model(
        "objectives",
        "Objective",
        "/objectives",
    ),
    Model(
        "opportunities",
        "Opportunity",
        "/opportunities",
        user_refs=("ownerId",),
    ),
    Model(
        "projects",
        "Project",
        "/projects",
        required_for_create=("name",),
    ),
    Model(
        "sales",
        "Sale",
        "/sales",
        required_for_create=("_currency", "companyId", "salesDate", "value"),
    ),
    # The 2026 revenue models, parents first: products (the catalog), deals (on companies),
    # line items (on deals, optionally from a product). Paths, required fields and derived
    # values: docs/planhat-api.md, "Models and their endpoints" and "Model quirks".
    Model(
        "products",
        "Product",
        "/products",
        company_field=None,
        replication_key="updatedAt",
        required_for_create=("name",),
        annual_pairs=(("mrr", "arr"), ("renewalMrr", "renewalArr")),
        notes="2026 revenue model; verbs follow the common convention, unconfirmed.",
    ),
    Model(
        "deals",
        "Deal",
        "/deals",
        replication_key="updatedAt",
        required_for_create=("companyId",),
        user_refs=("ownerId",),
        annual_pairs=(("mrr", "arr"),),
        notes="2026 revenue model; dates and, with line items, revenue derive from them.",
    ),
    Model(
        "line_items",
        "LineItem",
        "/lineitems",
        replication_key="updatedAt",
        required_for_create=("dealId",),
        aliases=("line-items", "line-item", "lineitem"),
        references=(("dealId", "deals"), ("productId", "products")),
        parent_field="dealId",
        annual_pairs=(("mrr", "arr"),),
        notes="Path inferred (/lineitems, unconfirmed); a 404 means not on this tenant.",
    ),
    Model(
        "tasks",
        "Task",
        "/tasks",
        replication_key="updatedAt",
        required_for_create=("mainType", "companyId"),
        user_refs=("ownerId",),
    ),
    Model(
        "tickets",
        "Ticket",
        "/tickets",
        verbs=frozenset({Verb.LIST, Verb.DELETE, Verb.BULK_UPSERT}),
        keyables=("_id", "sourceId"),
        external_id_field=None,
        required_for_create=("sourceId", "email"),
        notes="Only bulk upsert, list and delete; items without email are dropped.",
    ),
    Model(
        "time_entries",
        "TimeEntry",
        "/timeentries",
        required_for_create=("date", "hours"),
        aliases=("timeentries", "timeentry"),
    ),
    Model(
        "timesheets",
        "Timesheet",
        "/timesheets",
        keyables=("_id",),
        company_field=None,
        external_id_field=None,
        notes="Only the list verb is corroborated.",
    ),
    Model(
        "workspaces",
        "Workspace",
        "/workspaces",
        notes="Verbs follow robocorp-planhat and cruds; unconfirmed.",
        user_refs=("ownerId",),
    ),
    Model(
        "workflows",
        "Workflow",
        "/workflows",
        verbs=frozenset({Verb.LIST}),
        keyables=("_id",),
        external_id_field=None,
        replication_key="updatedAt",
        notes="Only listing is corroborated (Airbyte stream).",
    ),
    Model(
        "dimension_data",
        "DimensionData",
        "/dimensiondata",
        verbs=frozenset({Verb.LIST, Verb.PUSH}),
        keyables=(),
        external_id_field=None,
        replication_key="time",
        required_for_create=("dimensionId", "value", "externalId"),
        aliases=("metrics", "metric", "custom_metrics"),
        push_path="/dimensiondata/{tenant_token}",
        selected_by_default=False,
        notes="Read on the main API in epoch-day windows; pushed to the analytics host.",
    ),
    Model(
        "user_activities",
        "Activity",
        None,
        verbs=frozenset({Verb.PUSH}),
        keyables=(),
        company_field=None,
        aliases=("activities", "activity", "useractivities"),
        push_path="/analytics/bulk/{tenant_token}",
        single_push_path="/analytics/{tenant_token}",
        selected_by_default=False,
        notes="Write-only: there is no read endpoint.",
    ),
)

_BY_NAME: Mapping[str, Model] = MappingProxyType(
    {alias: model for model in MODELS for alias in model.accepted_names}
)


def find_model(name: str) -> Model | None:
    """The model a stream or model name routes to, matched case-insensitively."""
    return _BY_NAME.get(name.strip().lower())


def get_model(name: str) -> Model:
    """Like :func:`find_model`, but raise naming the accepted models when nothing matches."""
    model = find_model(name)
    if model is None:
        accepted = ", ".join(m.name for m in MODELS)
        msg = f"'{name}' is not a Planhat model. Accepted model names: {accepted}."
        raise KeyError(msg)
    return model


def readable_models() -> Iterator[Model]:
    """Models the tap can list, in registry order."""
    return (m for m in MODELS if m.readable)


#: Planhat custom-field types (``/customfields`` ``type``) and the value type they hold
#: (docs/planhat-api.md, "Model quirks").
#: No source types the values of a kind more narrowly than this, so ratings are numbers.
CUSTOM_FIELD_TYPES: Mapping[str, FieldType] = MappingProxyType(
    {
        "number": N,
        "text": S,
        "rich text": S,
        "checkbox": B,
        "day": DT,
        "date": DT,
        "list": S,
        "multipicklist": SS,
        "team member": S,
        "team members": SS,
        "rating": N,
        "phone": S,
        "email": S,
        "enduser": S,
        "endusers": SS,
        "url": S,
    }
)
