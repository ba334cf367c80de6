"""Town self-built dispatch systems (街镇自建系统): report cases and follow them by a feed.

Each town system is a system client account of its town with its own API keys. Its case
numbers are namespaced by its account (`<account id>:<case_no>`), so two systems never collide;
it may report only inside its town (403 elsewhere), sees only the cases it opened, and syncs
their every step from `GET /changes?since=<cursor>`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cityops.auth.principal import Principal
from cityops.cases.flow.env import CaseEnv
from cityops.cases.http.api import view_of
from cityops.cases.http.deps import Creator, Env, OutputCrs, Reader
from cityops.cases.http.schemas import CATEGORY, CaseIntakeRead, Location, ReporterIn, new_case
from cityops.cases.http.views import intake_read
from cityops.cases.intake.claims import check_grant
from cityops.cases.intake.opening import Source, Urgency
from cityops.cases.sources.common import REPORT_NO, open_case, require_system_client
from cityops.cases.sources.town import feed as town_feed
from cityops.kit.errors import Forbidden
from cityops.kit.web import MAX_INT, NO_NUL, AwareInstant, DbSession
from cityops.org.models import TOWN_LEVELS
from cityops.org.schemas import CODE_PATTERN

router = APIRouter(prefix="/api/v1/sources/town", tags=["sources"])


class TownCase(BaseModel):
    """A case from a town's own dispatch system."""

    model_config = ConfigDict(extra="forbid")

    case_no: str = Field(pattern=REPORT_NO, description="The town system's own case number")
    category: str = Field(
        pattern=CATEGORY, description='"component:0101", "event:0102", "hotline:03" or a name'
    )
    text: str = Field(min_length=1, max_length=4000, pattern=NO_NUL)
    location: Location | None = None
    org_code: str | None = Field(
        default=None, pattern=CODE_PATTERN, description="A place in the town (no point known)"
    )
    address: str = Field(default="", max_length=256, pattern=NO_NUL)
    reporter: ReporterIn | None = None
    urgency: Urgency = Urgency.NORMAL
    photos: list[Annotated[str, StringConstraints(max_length=512, pattern=NO_NUL)]] = Field(
        default_factory=list, max_length=20
    )
    occurred_at: AwareInstant | None = None


class TownCaseRead(CaseIntakeRead):
    """The case opened (201) or already opened for this case number (200)."""

    case_no: str


class TownChange(BaseModel):
    """One step of one of the system's cases."""

    cursor: int = Field(description="Pass the last one back as `since`")
    case_id: int
    case_no: str | None
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
    detail: dict[str, Any]


class TownChanges(BaseModel):
    """A page of the feed."""

    items: list[TownChange]
    next: int = Field(description="The cursor to ask with next time")
    has_more: bool = Field(description="More settled steps wait: ask again at once")


def _prefix(principal: Principal) -> str:
    return f"{principal.account_id}:"


async def _town_system(principal: Principal, env: CaseEnv) -> None:
    """A system client whose account belongs to a street/town, else 403."""
    require_system_client(principal, "the town intake")
    check_grant(principal, Source.TOWN_SYSTEM)
    node = (await env.tree.current()).get(principal.org_code)
    if node is None or node.level not in TOWN_LEVELS:
        raise Forbidden("a town system's account must belong to its street or town (街镇)")


@router.post(
    "/cases",
    response_model=TownCaseRead,
    status_code=201,
    summary="Town system: open a case",
    responses={200: {"description": "The case already opened for this case_no"}},
)
async def report(
    body: TownCase,
    principal: Creator,
    env: Env,
    session: DbSession,
    response: Response,
    tasks: BackgroundTasks,
    crs: OutputCrs,
) -> TownCaseRead:
    """Open a case inside the system's town; a repeated case_no returns the first case (200)."""
    await _town_system(principal, env)
    key = _prefix(principal) + body.case_no
    opened = await open_case(
        session,
        env,
        principal,
        new_case(body, source=Source.TOWN_SYSTEM, category=body.category, source_key=key),
        tasks,
    )
    if not opened.result.created:
        response.status_code = 200
    view = await view_of(env, opened.svc, [opened.result.case], crs)
    return TownCaseRead(**intake_read(opened.result, view).model_dump(), case_no=body.case_no)


@router.get("/changes", response_model=TownChanges, summary="Town system: changes feed")
async def changes(
    principal: Reader,
    env: Env,
    session: DbSession,
    since: Annotated[int, Query(ge=0, le=MAX_INT, description="The last cursor seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TownChanges:
    """Every timeline step of the system's cases after `since`, oldest first."""
    await _town_system(principal, env)
    settle = timedelta(seconds=env.settings.town_feed_settle_seconds)
    page = await town_feed.changes(session, principal, since, limit, env.now() - settle)
    prefix = _prefix(principal)
    items = [
        TownChange(
            cursor=c.event.id,
            case_id=c.event.case_id,
            case_no=c.source_key.removeprefix(prefix) if c.source_key else None,
            seq=c.event.seq,
            at=c.event.at,
            action=c.event.action,
            from_status=c.event.from_status,
            to_status=c.event.to_status,
            loop_level=c.event.loop_level,
            owner_code=c.event.owner_code,
            actor=c.event.actor,
            actor_org=c.event.actor_org,
            comment=c.event.comment,
            reason=c.event.reason,
            detail=c.event.detail or {},
        )
        for c in page.changes
    ]
    return TownChanges(
        items=items, next=items[-1].cursor if items else since, has_more=page.has_more
    )
