"""Request and response bodies of /api/v1/command."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cityops.command.plans.schema import PlanBody, Tier
from cityops.kit.web import MAX_INT, NO_NUL

CODE = r"^[0-9]{6,15}$"
WORD = r"^[a-z][a-z0-9_-]{0,31}$"


class Body(BaseModel):
    """Bodies refuse fields they do not know."""

    model_config = ConfigDict(extra="forbid")


class IncidentCreate(Body):
    """Open an incident: by hand, from a case, or from an IoT scene event or video alarm."""

    type: str = Field(pattern=WORD, description="Incident type, e.g. flood (防汛防台)")
    level: int = Field(ge=1, le=4, description="Response level: 1 (Ⅰ) … 4 (Ⅳ)")
    title: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    area_code: str = Field(pattern=CODE, description="Org code of the area")
    commander: str = Field(default="", max_length=100, pattern=NO_NUL)
    source: str = Field(default="manual", pattern=r"^(manual|case|iot|video)$")
    source_ref: str = Field(
        default="", max_length=200, pattern=NO_NUL, description="Case id, scene event or alarm key"
    )
    case_id: int | None = Field(default=None, ge=1, le=MAX_INT)
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    synthetic: bool = False


class Text(Body):
    """A note, a report or a reason."""

    text: str = Field(default="", max_length=2000, pattern=NO_NUL)


class NoteCreate(Body):
    """Something said or done, for the timeline."""

    text: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)


class CaseLink(Body):
    """Link a case to the incident."""

    case_id: int = Field(ge=1, le=MAX_INT)


class LevelChange(Body):
    """A new response level."""

    level: int = Field(ge=1, le=4)


class ActivationCreate(Body):
    """Activate a plan's latest version at a level (the incident's level by default)."""

    plan_code: str = Field(pattern=WORD)
    level: int | None = Field(default=None, ge=1, le=4)


class OrderCreate(Body):
    """Add one order in flight (追加指令)."""

    tier: Tier
    unit_code: str = Field(pattern=CODE)
    task: str = Field(min_length=1, max_length=500, pattern=NO_NUL)
    sign_minutes: int = Field(ge=1, le=1440)
    complete_minutes: int | None = Field(default=None, ge=1, le=43200)
    escalate_minutes: int = Field(default=10, ge=1, le=1440)


class PlanCreate(Body):
    """A new version of a plan (the first one creates it)."""

    code: str = Field(pattern=WORD)
    incident_type: str = Field(pattern=WORD)
    title: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    body: PlanBody
    synthetic: bool = False


class Read(BaseModel):
    """Answers read ORM rows by attribute."""

    model_config = ConfigDict(from_attributes=True)


class IncidentRead(Read):
    """An incident."""

    id: int
    number: str
    type: str
    level: int
    title: str
    area_code: str
    state: str
    commander: str
    source: str
    source_ref: str
    lon: float | None
    lat: float | None
    synthetic: bool
    opened_by: str
    opened_at: datetime
    closed_at: datetime | None


class IncidentDetail(IncidentRead):
    """An incident with its linked cases and what the caller may do now."""

    cases: list[int]
    allowed: list[str]


class OrderRead(Read):
    """One order on the board."""

    id: int
    incident_id: int
    tier: str
    unit_code: str
    task: str
    state: str
    issued_by: str
    issued_at: datetime
    sign_due_at: datetime
    complete_due_at: datetime | None
    signed_at: datetime | None
    signed_by: str
    completed_at: datetime | None
    next_fire_at: datetime | None
    late: bool = False
    allowed: list[str] = []


class TimelineRead(Read):
    """One timeline entry."""

    id: int
    order_id: int | None
    at: datetime
    actor: str
    kind: str
    text: str
    detail: dict[str, Any]


class PlanRead(Read):
    """One plan version."""

    id: int
    code: str
    version: int
    incident_type: str
    title: str
    owner_code: str
    synthetic: bool
    body: dict[str, Any]
    created_by: str
    created_at: datetime


class Activated(BaseModel):
    """What an activation issued."""

    plan_code: str
    version: int
    level: int
    orders: list[OrderRead]
