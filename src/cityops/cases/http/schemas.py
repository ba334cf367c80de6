"""API shapes of the event flow: intake, reads, actions, timeline, KPIs, rules, categories."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cityops.cases.catalog.shipped import LoopLevel
from cityops.cases.intake.contact import Contact
from cityops.cases.intake.opening import NewCase, Source, Urgency
from cityops.geo.crs import COORD_LIMIT
from cityops.kit.web import MAX_INT, NO_NUL, AwareInstant
from cityops.org.schemas import CODE_PATTERN

#: A coordinate: finite and within ±1e8 (no place on Earth lies beyond; BD-09 overflows there).
Finite = Annotated[float, Field(allow_inf_nan=False, ge=-COORD_LIMIT, le=COORD_LIMIT)]
Text = Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)]
PHONE = r"^[0-9+\-() ]{3,32}$"
CATEGORY = r"^[^\x00]{1,64}$"
PhotoRef = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=NO_NUL)]


class Location(BaseModel):
    """A point and the CRS it is given in (stored as WGS84/CGCS2000)."""

    model_config = ConfigDict(extra="forbid")

    lon: Finite = Field(description="Longitude or easting", examples=[121.2345])
    lat: Finite = Field(description="Latitude or northing", examples=[31.1234])
    crs: str = Field(default="wgs84", max_length=64, description="wgs84, cgcs2000, gcj02, bd09 …")


class ReporterIn(BaseModel):
    """Who reported the case; personal data, encrypted at rest and masked in reads."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=64, pattern=NO_NUL)
    phone: str | None = Field(default=None, pattern=PHONE)


class CaseCreate(BaseModel):
    """A report: what (category, text), where (location or org_code), from which source."""

    model_config = ConfigDict(extra="forbid")

    source: Source
    source_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=NO_NUL,
        description="Your own id of the report; a repeat returns the existing case (200). "
        "It is kept as `<your account id>:<source_key>`, apart from every other caller's",
    )
    category: str = Field(
        pattern=CATEGORY, description='"component:0101", "event:0102", "hotline:03" or a name'
    )
    text: str = Field(min_length=1, max_length=4000, pattern=NO_NUL)
    location: Location | None = None
    org_code: str | None = Field(
        default=None, pattern=CODE_PATTERN, description="The place's unit when no point is known"
    )
    address: str = Field(default="", max_length=256, pattern=NO_NUL)
    reporter: ReporterIn | None = None
    urgency: Urgency = Urgency.NORMAL
    photos: list[PhotoRef] = Field(
        default_factory=list,
        max_length=20,
        description='"photo:<sha256>" from POST /api/v1/media/photos (must exist and be yours or '
        "in your scope), or a URL",
    )
    occurred_at: AwareInstant | None = None


class ReportBody(Protocol):
    """What every report body shares (the generic case, a grid 案卷, a town system's case)."""

    @property
    def text(self) -> str: ...
    @property
    def location(self) -> Location | None: ...
    @property
    def org_code(self) -> str | None: ...
    @property
    def address(self) -> str: ...
    @property
    def reporter(self) -> ReporterIn | None: ...
    @property
    def urgency(self) -> Urgency: ...
    @property
    def photos(self) -> list[str]: ...
    @property
    def occurred_at(self) -> datetime | None: ...


def new_case(
    body: ReportBody,
    *,
    source: str,
    category: str,
    source_key: str | None,
    photos: Sequence[str] | None = None,
    component_id: str | None = None,
) -> NewCase:
    """The intake input of a report body; `photos` replaces the body's when given."""
    where, reporter = body.location, body.reporter
    return NewCase(
        source=source,
        category=category,
        text=body.text,
        source_key=source_key,
        lon=where.lon if where else None,
        lat=where.lat if where else None,
        crs=where.crs if where else "wgs84",
        org_code=body.org_code,
        address=body.address,
        contact=Contact(reporter.name, reporter.phone) if reporter else None,
        urgency=body.urgency.value,
        photos=tuple(body.photos if photos is None else photos),
        occurred_at=body.occurred_at,
        component_id=component_id,
    )


class LocationRead(BaseModel):
    """A case's point in the CRS asked for."""

    lon: float
    lat: float
    crs: str


class DivisionsRead(BaseModel):
    """The divisions a case lies in."""

    unit: str | None
    community: str | None
    grid: str | None
    multigrid: str | None


class ReporterRead(BaseModel):
    """The reporter, masked (138****5678)."""

    name: str | None
    phone: str | None
    email: str | None = None


class DepartmentRef(BaseModel):
    """A department a case is dispatched to."""

    id: int
    key: str
    name: str
    org_code: str


class TimerRead(BaseModel):
    """An SLA timer of a case."""

    kind: str
    state: str
    due_at: datetime
    warn_at: datetime


class ExtensionRead(BaseModel):
    """A pending extension request."""

    id: int
    hours: float | None
    days: int | None
    reason: str
    requested_by: str
    requested_at: datetime


class CaseRead(BaseModel):
    """A case as its readers see it (contact masked)."""

    id: int
    source: str
    source_key: str | None
    category: str
    category_name: str
    component_id: str | None = Field(description="部件标识码 (16 digits) of a component case")
    text: str
    location: LocationRead | None
    address: str
    divisions: DivisionsRead
    owner_code: str
    owner_name: str | None
    loop_level: str
    status: str
    department_key: str | None = Field(description="The routed default department")
    department: DepartmentRef | None
    parent_id: int | None
    urgency: str
    photos: list[str]
    reporter: ReporterRead | None
    returns: int
    reworks: int
    overdue: bool
    supervision: str | None
    satisfaction: int | None
    sign_due_at: datetime | None
    handle_due_at: datetime | None
    occurred_at: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    created_by: str


class DuplicateCandidate(BaseModel):
    """An open case nearby of the same category: merge it with `merge` if it is the same."""

    id: int
    distance_m: float
    status: str
    created_at: datetime


class CaseIntakeRead(CaseRead):
    """The case opened (201) or already opened for the source key (200)."""

    created: bool
    duplicate_candidates: list[DuplicateCandidate]


class CaseDetail(CaseRead):
    """A case with what the caller may do now, its timers and a pending extension."""

    allowed_actions: list[str]
    timers: list[TimerRead]
    pending_extension: ExtensionRead | None


class CasePage(BaseModel):
    """A page of cases."""

    items: list[CaseRead]
    total: int
    limit: int
    offset: int


class ActionRequest(BaseModel):
    """What an action carries; each action reads the fields it needs."""

    model_config = ConfigDict(extra="forbid")

    comment: Text = ""
    reason: Text = ""
    department_id: int | None = Field(default=None, ge=1, le=MAX_INT)
    department_key: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,32}$")
    target_code: str | None = Field(default=None, pattern=CODE_PATTERN)
    parent_id: int | None = Field(default=None, ge=1, le=MAX_INT)
    hours: float | None = Field(default=None, gt=0, le=2000, allow_inf_nan=False)
    days: int | None = Field(default=None, ge=1, le=365)
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    level: str | None = Field(default=None, pattern=r"^(urge|supervise|listed)$")
    photos: list[PhotoRef] = Field(
        default_factory=list,
        max_length=9,
        description='Photos taken for this step ("photo:<sha256>" from POST /api/v1/media/photos); '
        "kept in the timeline entry's detail",
    )


class CaseEventRead(BaseModel):
    """One timeline entry."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    loop_level: str
    owner_code: str
    actor: str
    actor_org: str
    comment: str
    reason: str
    detail: dict[str, object]


class ContactRead(BaseModel):
    """The reporter's unmasked contact (reading it is audited)."""

    name: str | None
    phone: str | None
    email: str | None = None


class KpiRead(BaseModel):
    """Event-flow KPIs; see docs/cases.md for the definitions."""

    since: datetime
    until: datetime
    unit: str | None
    loop_level: str | None
    registered: int = Field(description="立案数")
    due: int = Field(description="应结案数")
    closed: int = Field(description="结案数")
    close_rate: float | None = Field(description="结案率")
    on_time_rate: float | None = Field(description="按期结案率")
    rework_rate: float | None = Field(description="返工率")
    return_rate: float | None = Field(description="退单率")
    avg_handling_hours: float | None = Field(description="平均处置时长 (working hours)")
    avg_satisfaction: float | None = Field(description="平均满意度 (1–5)")
    evaluated: int
    closed_by_loop: dict[str, int]


class RoutingRuleCreate(BaseModel):
    """A routing override: match by category and/or unit prefix; set department, loop, policy."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(default=None, pattern=CATEGORY)
    unit_prefix: str | None = Field(default=None, pattern=CODE_PATTERN)
    department_key: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,32}$")
    loop_level: LoopLevel | None = None
    escalate_on_breach: bool | None = None
    note: str = Field(default="", max_length=500, pattern=NO_NUL)


class RoutingRuleRead(BaseModel):
    """A routing rule."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_code: str
    category: str | None
    unit_prefix: str | None
    department_key: str | None
    loop_level: str | None
    escalate_on_breach: bool | None
    note: str
    created_by: str
    created_at: datetime


class TimeLimitRead(BaseModel):
    """A time limit in working time."""

    value: float
    unit: str


class CategoryRead(BaseModel):
    """A catalogue row as cases use it."""

    code: str
    kind: str
    name: str
    aliases: list[str]
    department: str | None
    loop_level: str
    sign_for: TimeLimitRead
    handle: TimeLimitRead
    registration: str
    closing: str
    synthetic: bool
