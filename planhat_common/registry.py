"""The Planhat model registry: every model described exactly once.

The tap (streams and schemas), the target (routing, keys, standard fields) and the sandbox
(routes, matching, seed data) all read this module. Facts cite the sections of
``shared/planhat-api.md``; where the API is unconfirmed the registry says so in ``notes``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping


class Verb(enum.Enum):
    """What a model's endpoint accepts (API reference §4)."""

    LIST = "list"
    GET = "get"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    BULK_UPSERT = "bulk_upsert"
    #: POST of an array to the analytics host (metrics, user activities; §10, §11).
    PUSH = "push"


class FieldType(enum.Enum):
    """Value types of standard fields; the tap turns them into JSON schema."""

    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATETIME = "date-time"
    #: Whole days since 1970-01-01, e.g. invoice dates (§10.3).
    EPOCH_DAY = "epoch-day"
    STRINGS = "string[]"
    NUMBERS = "number[]"
    OBJECT = "object"
    OBJECTS = "object[]"
    #: A user reference: an id string from get-by-id, ``{id, nickName}`` from lists (§13).
    USER_REF = "user-ref"


S, N, INT, B, DT, ED = (
    FieldType.STRING,
    FieldType.NUMBER,
    FieldType.INTEGER,
    FieldType.BOOLEAN,
    FieldType.DATETIME,
    FieldType.EPOCH_DAY,
)
SS, NS, OBJ, OS, UR = (
    FieldType.STRINGS,
    FieldType.NUMBERS,
    FieldType.OBJECT,
    FieldType.OBJECTS,
    FieldType.USER_REF,
)

ALL_RECORD_VERBS = frozenset(
    {Verb.LIST, Verb.GET, Verb.CREATE, Verb.UPDATE, Verb.DELETE, Verb.BULK_UPSERT}
)
DEFAULT_KEYABLES = ("_id", "sourceId", "externalId")
DEFAULT_PAGE_CAP = 2000
#: Planhat's documented cap on items in one bulk upsert (§8.1).
BULK_UPSERT_MAX_ITEMS = 5000
#: Documented body cap of the analytics host (§10.1); we also apply it to bulk upserts (§15.10).
MAX_BODY_BYTES = 32 * 1024 * 1024


class Host(enum.Enum):
    """Which base URL a path is relative to (§1).

    ``Model.path`` is on the main API, every push path on the analytics host (see
    :meth:`Model.host_of`).
    """

    API = "api"
    ANALYTICS = "analytics"


# Fields nearly every record model carries (§13 "Common to almost every model").
_IDENTITY = {"_id": S, "externalId": S, "sourceId": S, "custom": OBJ, "__v": INT}
_COMPANY_OWNED = {"companyId": S, "companyName": S}
_TIMESTAMPS = {"createdAt": DT, "updatedAt": DT}


def _fields(*parts: Mapping[str, FieldType], **extra: FieldType) -> Mapping[str, FieldType]:
    merged: dict[str, FieldType] = {}
    for part in parts:
        merged.update(part)
    merged.update(extra)
    return MappingProxyType(merged)


@dataclass(frozen=True)
class Model:
    """One Planhat model.

    Attributes:
        name: snake_case plural stream name, e.g. ``time_entries``.
        planhat_name: Planhat's model name, as in ``/customfields`` ``parent`` (e.g. ``EndUser``).
        path: list/get/bulk path on the main API; ``None`` for write-only analytics models.
        fields: standard fields and their types (anything else goes to ``custom``).
        verbs: what the endpoint supports.
        keyables: bulk-upsert matching keys, in matching order (§8.2).
        company_field: the field referencing the owning company(ies), if any.
        company_name_field: the server-filled company name next to it (``companyName``;
            ``cName`` on invoices), if the model has one.
        external_id_field: the model's "your id" field (``extId`` on invoices, §13).
        replication_key: the server-maintained update timestamp, or ``None`` (full table).
        page_cap: the largest ``limit`` the list endpoint honours (§5.2).
        required_for_create: fields a bulk item must carry to create a record (§8.2); for
            push models, fields every pushed item must carry (§10.1).
        aliases: other accepted names (singular, Planhat's name); matched case-insensitively.
        push_path: path on the analytics host for pushes, ``{tenant_token}`` filled in.
        single_push_path: path on the analytics host for a push of one item, if any.
        selected_by_default: whether the tap selects the stream without a catalog.
        notes: what is unconfirmed about the model (§15.15).
    """

    name: str
    planhat_name: str
    path: str | None
    fields: Mapping[str, FieldType]
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
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
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


def _singular(name: str) -> str:
    if name.endswith("ies"):
        return name[:-3] + "y"
    if name.endswith("s"):
        return name[:-1]
    return name


#: Every model, in dependency order: companies first (most models reference them), then team
#: members and endusers (referenced by owners, followers and activities). The tap emits streams
#: in this order, so a target writing them in arrival order creates parents first.
MODELS: tuple[Model, ...] = (
    Model(
        "companies",
        "Company",
        "/companies",
        fields=_fields(
            _IDENTITY,
            _TIMESTAMPS,
            name=S,
            slug=S,
            owner=UR,
            coOwner=UR,
            phase=S,
            phaseSince=DT,
            status=S,
            h=N,
            csmScore=N,
            domains=SS,
            description=S,
            web=S,
            address=S,
            city=S,
            zip=S,
            country=S,
            tags=SS,
            usage=OBJ,
            mrr=N,
            arr=N,
            mrrTotal=N,
            nrr30=N,
            nrrTotal=N,
            renewalArr=N,
            renewalMrr=N,
            renewalDaysFromNow=INT,
            customerFrom=DT,
            customerTo=DT,
            lastRenewal=DT,
            lastActive=DT,
            lastTouch=DT,
            nextTouchDate=DT,
            lastActivities=OS,
            headId=S,
            orgPath=S,
            orgLevel=INT,
            createDate=DT,
            lastUpdated=DT,
        ),
        company_field=None,
        replication_key="updatedAt",
        page_cap=5000,
        required_for_create=("name",),
        aliases=("account", "accounts"),
    ),
    Model(
        "users",
        "User",
        "/users",
        fields=_fields(
            _IDENTITY,
            _TIMESTAMPS,
            email=S,
            nickName=S,
            firstName=S,
            lastName=S,
            roles=SS,
            inactive=B,
            isHidden=B,
            removed=B,
            image=S,
            tzOffset=N,
            managers=SS,
            teams=SS,
            createDate=DT,
        ),
        company_field=None,
        replication_key="updatedAt",
        required_for_create=("email", "nickName", "firstName", "lastName"),
        aliases=("team_members", "team_member"),
        notes="Bulk upsert and delete on /users are unconfirmed (§15.15).",
    ),
    Model(
        "endusers",
        "EndUser",
        "/endusers",
        fields=_fields(
            _IDENTITY,
            _COMPANY_OWNED,
            _TIMESTAMPS,
            email=S,
            firstName=S,
            lastName=S,
            name=S,
            otherEmails=SS,
            position=S,
            phone=S,
            tags=SS,
            featured=B,
            primary=B,
            archived=B,
            usage=OBJ,
            nps=INT,
            npsComment=S,
            npsDate=DT,
            beats=INT,
            convsTotal=INT,
            relevance=N,
            lastActive=DT,
            lastTouch=DT,
            createDate=DT,
        ),
        keyables=("_id", "sourceId", "externalId", "email"),
        replication_key="updatedAt",
        required_for_create=("email",),
        aliases=("contacts", "contact"),
        notes="Archived endusers are left out of the list (§13, §15.19).",
    ),
    Model(
        "assets",
        "Asset",
        "/assets",
        fields=_fields(
            _IDENTITY,
            _COMPANY_OWNED,
            _TIMESTAMPS,
            name=S,
            serialNumber=S,
            value=N,
            _currency=S,
            installDate=DT,
            status=S,
            ownerId=S,
            ownerName=S,
            followers=SS,
            usage=OBJ,
        ),
        replication_key="updatedAt",
        required_for_create=("name", "companyId"),
    ),
    Model(
        "campaigns",
        "Campaign",
        "/campaigns",
        fields=_fields(_IDENTITY, _COMPANY_OWNED, name=S, campaignPurpose=S),
    ),
    Model(
        "churn",
        "Churn",
        "/churn",
        fields=_fields(
            _IDENTITY,
            _COMPANY_OWNED,
            _TIMESTAMPS,
            churnDate=DT,
            reasons=SS,
            products=SS,
            value=N,
            arr=N,
            currency=S,
            description=S,
            comment=S,
            onlyDowngrade=B,
            snoozed=B,
        ),
        replication_key="updatedAt",
        aliases=("churns",),
        notes="Fields only from Airbyte's schema; keep permissive (§15.16).",
    ),
    Model(
        "conversations",
        "Conversation",
        "/conversations",
        fields=_fields(
            _IDENTITY,
            _COMPANY_OWNED,
            _TIMESTAMPS,
            type=S,
            isCustomType=B,
            subject=S,
            description=S,
            snippet=S,
            hasAttachments=B,
            users=OS,
            userIds=SS,
            endusers=SS,
            assigneeName=S,
            activityTags=SS,
            tags=SS,
            starred=B,
            pinned=B,
            isOpen=B,
            archived=B,
            date=DT,
            outDate=DT,
            createDate=DT,
        ),
        replication_key="updatedAt",
        aliases=("notes", "note"),
        notes="Notes and tickets are conversation types (§13 Note, Ticket).",
    ),
    Model(
        "custom_fields",
        "CustomField",
        "/customfields",
        fields=_fields(
            {"_id": S, "__v": INT},
            name=S,
            type=S,
            parent=S,
            isFeatured=B,
            isHidden=B,
            isShared=B,
            isLocked=B,
            isMandatory=B,
            isFormula=B,
            treatUndefinedAsZero=B,
            formula=S,
            listValues=SS,
            numberFormat=S,
        ),
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
        fields=_fields(
            {"_id": S, "sourceId": S, "custom": OBJ, "__v": INT},
            extId=S,
            invoiceNo=S,
            cId=S,
            cName=S,
            currency=S,
            product=S,
            amountTotal=N,
            lineItems=OS,
            invoiceDate=ED,
            dueDate=ED,
            paidDate=ED,
            status=S,
            emails=SS,
            addressCountry=S,
            invoiceCycle=S,
            lastUpdated=DT,
        ),
        keyables=("_id", "sourceId", "extId"),
        company_field="cId",
        company_name_field="cName",
        external_id_field="extId",
        replication_key="lastUpdated",
        required_for_create=("currency", "cId"),
        notes="cId and extId instead of companyId and externalId (§13 Invoice).",
    ),
    Model(
        "issues",
        "Issue",
        "/issues",
        fields=_fields(
            _IDENTITY,
            _TIMESTAMPS,
            title=S,
            description=S,
            companyIds=SS,
            companies=OS,
            enduserIds=SS,
            conversationIds=SS,
            source=S,
            sourceUrl=S,
            priority=S,
            archived=B,
            status=S,
            mrrCombined=N,
            arrCombined=N,
            followers=SS,
        ),
        company_field="companyIds",
        replication_key="updatedAt",
        required_for_create=("title",),
    ),
    Model(
        "licenses",
        "License",
        "/licenses",
        fields=_fields(
            _IDENTITY,
            _COMPANY_OWNED,
            product=S,
            parent=S,
            _currency=S,
            mrr=N,
            arr=N,
            value=N,
            fromDate=DT,
            toDate=DT,
            toDateIncluded=B,
            fixedPeriod=B,
            length=N,
            renewalStatus=S,
            autoRenews=B,
            renewalPeriod=N,
            renewalUnit=S,
            noticePeriod=N,
            noticeUnit=S,
            renewalDate=DT,
            renewalDaysFromNow=INT,
            isOverdue=B,
            invoiceCycle=S,
        ),
        required_for_create=("_currency", "fromDate", "companyId"),
    ),
    Model(
        "nps",
        "NPS",
        "/nps",
        fields=_fields(
            {"_id": S, "sourceId": S, "custom": OBJ, "__v": INT},
            cId=S,
            email=S,
            euId=S,
            campaignId=S,
            score=INT,
            comment=S,
            source=S,
            dateSent=DT,
            dateAnswered=DT,
        ),
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
        fields=_fields(_IDENTITY, _COMPANY_OWNED, name=S, health=N),
    ),
    Model(
        "opportunities",
        "Opportunity",
        "/opportunities",
        fields=_fields(
            _IDENTITY,
            _COMPANY_OWNED,
            title=S,
            salesStage=S,
            status=S,
            _currency=S,
            ownerId=S,
            mrr=N,
            arr=N,
            nrr=N,
            contractLength=N,
            probability=N,
            stageHistory=OS,
            dealDate=DT,
            landingDate=DT,
            closeDate=DT,
        ),
    ),
    Model(
        "projects",
        "Project",
        "/projects",
        fields=_fields(
            _IDENTITY,
            _COMPANY_OWNED,
            name=S,
            currency=S,
            startDate=DT,
            endDate=DT,
            mrr=N,
            arr=N,
            nrr=N,
        ),
        required_for_create=("name",),
    ),
    Model(
        "sales",
        "Sale",
        "/sales",
        fields=_fields(
            _IDENTITY,
            _COMPANY_OWNED,
            _currency=S,
            product=S,
            salesDate=DT,
            value=N,
        ),
        required_for_create=("_currency", "companyId", "salesDate", "value"),
    ),
    Model(
        "tasks",
        "Task",
        "/tasks",
        fields=_fields(
            _IDENTITY,
            _COMPANY_OWNED,
            _TIMESTAMPS,
            mainType=S,
            type=S,
            action=S,
            description=S,
            startTime=DT,
            endTime=DT,
            dateDone=DT,
            noSpecificTime=B,
            repeat=S,
            ownerId=S,
            ownerName=S,
            doneBy=S,
            endusers=SS,
            users=SS,
            status=S,
            isArchived=B,
        ),
        replication_key="updatedAt",
        required_for_create=("mainType", "companyId"),
    ),
    Model(
        "tickets",
        "Ticket",
        "/tickets",
        fields=_fields(
            {"_id": S, "sourceId": S, "custom": OBJ, "__v": INT},
            _COMPANY_OWNED,
            source=S,
            email=S,
            domains=SS,
            title=S,
            description=S,
            url=S,
            tags=SS,
            type=S,
            severity=S,
            product=S,
            timeSpent=N,
            status=S,
        ),
        verbs=frozenset({Verb.LIST, Verb.DELETE, Verb.BULK_UPSERT}),
        keyables=("_id", "sourceId"),
        external_id_field=None,
        required_for_create=("sourceId", "email"),
        notes="Only bulk upsert, list and delete; items without email are dropped (§13).",
    ),
    Model(
        "time_entries",
        "TimeEntry",
        "/timeentries",
        fields=_fields(
            _IDENTITY,
            _COMPANY_OWNED,
            date=DT,
            hours=N,
            isTimeOff=B,
            description=S,
            isBillable=B,
            billingCode=S,
            currency=S,
            billableRate=N,
            totalBilled=N,
            costRate=N,
            totalCost=N,
            timesheetStatus=S,
            timesheetId=S,
        ),
        required_for_create=("date", "hours"),
        aliases=("timeentries", "timeentry"),
    ),
    Model(
        "timesheets",
        "Timesheet",
        "/timesheets",
        fields=_fields(
            {"_id": S, "__v": INT, "custom": OBJ},
            approvedBy=S,
            status=S,
            timeEntries=SS,
            dateOfApproval=DT,
            dateFrom=ED,
            dateTo=ED,
            assignedModel=S,
            assignedId=S,
        ),
        keyables=("_id",),
        company_field=None,
        external_id_field=None,
        notes="Only the list verb is corroborated (§4, §15.15).",
    ),
    Model(
        "workspaces",
        "Workspace",
        "/workspaces",
        fields=_fields(_IDENTITY, _COMPANY_OWNED, name=S, ownerId=S),
        notes="Verbs follow ROBO and CRUDS; unconfirmed (§4).",
    ),
    Model(
        "workflows",
        "Workflow",
        "/workflows",
        fields=_fields(
            _IDENTITY,
            _COMPANY_OWNED,
            _TIMESTAMPS,
            name=S,
            type=S,
            owner=S,
            status=S,
            templateId=S,
            targetId=S,
            targetModel=S,
            targetName=S,
            endUserEmail=S,
            startDate=DT,
            expectedEndDate=DT,
            archiveDate=DT,
            isArchived=B,
            openRate=N,
            clickRate=N,
            percentDone=N,
        ),
        verbs=frozenset({Verb.LIST}),
        replication_key="updatedAt",
        notes="Only listing is corroborated (Airbyte stream; §4).",
    ),
    Model(
        "dimension_data",
        "DimensionData",
        "/dimensiondata",
        fields=_fields(
            {"_id": S},
            dimensionId=S,
            time=DT,
            value=N,
            model=S,
            parentId=S,
            companyId=S,
            companyName=S,
        ),
        verbs=frozenset({Verb.LIST, Verb.PUSH}),
        keyables=(),
        external_id_field=None,
        replication_key="time",
        required_for_create=("dimensionId", "value", "externalId"),
        aliases=("metrics", "metric", "custom_metrics"),
        push_path="/dimensiondata/{tenant_token}",
        selected_by_default=False,
        notes="Read on the main API in epoch-day windows; pushed to the analytics host (§10).",
    ),
    Model(
        "user_activities",
        "Activity",
        None,
        fields=_fields(
            email=S,
            externalId=S,
            id=S,
            cId=S,
            name=S,
            action=S,
            weight=N,
            count=INT,
            date=DT,
            info=OBJ,
        ),
        verbs=frozenset({Verb.PUSH}),
        keyables=(),
        company_field=None,
        aliases=("activities", "activity", "useractivities"),
        push_path="/analytics/bulk/{tenant_token}",
        single_push_path="/analytics/{tenant_token}",
        selected_by_default=False,
        notes="Write-only: there is no read endpoint (§11).",
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


#: Planhat custom-field types (``/customfields`` ``type``) and the value type they hold (§13).
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
        "rating": INT,
        "phone": S,
        "email": S,
        "enduser": S,
        "endusers": SS,
        "url": S,
    }
)
