"""HTTP endpoints of the event flow under /api/v1/cases: a thin layer over the case service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Body, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from cityops.auth import audit
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.cases.access import Actor, CaseAccess
from cityops.cases.catalog.shipped import LoopLevel
from cityops.cases.filters import CaseFilter
from cityops.cases.flow.decide import allowed as allowed_actions
from cityops.cases.flow.env import CaseEnv
from cityops.cases.flow.service import ActionInput, CaseService
from cityops.cases.flow.table import Action, Status, actions_from
from cityops.cases.http.admin import admin_router
from cityops.cases.http.deps import CaseId, Creator, Env, OutputCrs, Reader, aware
from cityops.cases.http.schemas import (
    ActionRequest,
    CaseCreate,
    CaseDetail,
    CaseEventRead,
    CaseIntakeRead,
    CasePage,
    ContactRead,
    new_case,
)
from cityops.cases.http.views import View, case_read, detail_read, intake_read
from cityops.cases.intake.claims import check_claim, own_key, repeat_of
from cityops.cases.intake.contact import unseal
from cityops.cases.intake.once import open_case, publish_after_response
from cityops.cases.intake.opening import Intake, Source
from cityops.cases.models import CaseRecord
from cityops.kit.bus import publish_all
from cityops.kit.errors import Conflict, ProblemError
from cityops.kit.web import MAX_INT, ClientIp, DbSession, Instant
from cityops.kit.workcal import CalendarError
from cityops.media.service import MediaService
from cityops.org.schemas import CODE_PATTERN
from cityops.org.tree import OrgTree

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
# Fixed paths (/kpi, /categories, /routing-rules) first, so /{case_id} does not shadow them.
router.include_router(admin_router)


async def view_of(
    env: CaseEnv, svc: CaseService, cases: list[CaseRecord], crs: str, tree: OrgTree | None = None
) -> View:
    """Everything rendering needs for these cases.

    After a write, pass the tree read before it: refreshing the tree takes a second pooled
    connection, and on SQLite a request holding the write lock while it waits for one (the
    pool taken by requests waiting for that lock) stalls every writer until the busy timeout.
    """
    ids = sorted({c.department_id for c in cases if c.department_id is not None})
    return View(tree or await env.tree.current(), await svc.repo.departments(ids), crs)


@router.post(
    "",
    response_model=CaseIntakeRead,
    status_code=201,
    summary="Open a case (idempotent by source key)",
    responses={200: {"description": "The case already opened for this source key"}},
)
async def create_case(
    body: CaseCreate,
    principal: Creator,
    env: Env,
    session: DbSession,
    response: Response,
    tasks: BackgroundTasks,
    crs: OutputCrs,
) -> CaseIntakeRead:
    """Locate, route and open a case; a repeated (source, source_key) returns the first one.

    The caller may claim only its own channels (403 otherwise), its key is kept in its own
    namespace (`<account id>:<key>`), and every photo must be one it may read (422).
    """
    check_claim(principal, body.source)
    key = own_key(principal, body.source_key)
    data = new_case(body, source=body.source.value, category=body.category, source_key=key)
    await check_photos(session, env, principal, body.photos)
    access = CaseAccess.of(principal)

    async def own_or_visible(svc: CaseService) -> Intake | None:
        return await repeat_of(svc, access, principal, data)

    opened = await open_case(
        session, env, access, Actor.of(principal), data, recognise=own_or_visible
    )
    result = opened.result
    if not result.created:
        response.status_code = 200
    publish_after_response(tasks, env, opened)
    return intake_read(result, await view_of(env, opened.svc, [result.case], crs, opened.tree))


@router.get("", response_model=CasePage, summary="List cases")
async def list_cases(
    principal: Reader,
    env: Env,
    session: DbSession,
    crs: OutputCrs,
    status: Annotated[list[Status] | None, Query()] = None,
    source: Source | None = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    loop_level: LoopLevel | None = None,
    unit: Annotated[str | None, Query(pattern=CODE_PATTERN)] = None,
    overdue: bool | None = None,
    supervised: bool | None = None,
    created_since: Instant | None = None,
    created_until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> CasePage:
    """Cases you may see, newest first."""
    where = CaseFilter(
        statuses=tuple(s.value for s in status or ()),
        source=source.value if source else None,
        category=category,
        loop_level=loop_level.value if loop_level else None,
        unit=unit,
        overdue=overdue,
        supervised=supervised,
        created_since=aware(created_since, "created_since"),
        created_until=aware(created_until, "created_until"),
    )
    svc = CaseService(session, env)
    items, total = await svc.repo.list(CaseAccess.of(principal), where, limit, offset)
    view = await view_of(env, svc, list(items), crs)
    return CasePage(
        items=[case_read(c, view) for c in items], total=total, limit=limit, offset=offset
    )


async def detail(
    svc: CaseService,
    env: CaseEnv,
    principal: Principal,
    case: CaseRecord,
    crs: str,
    tree: OrgTree | None = None,
) -> CaseDetail:
    """A case with the caller's allowed actions, timers and pending extension."""
    visible = CaseAccess.of(principal).allows(case)
    pending = await svc.repo.pending_extension(case.id)  # read once: guards and answer
    actor = Actor.of(principal)
    verification = await svc.verification(case, actions_from(Status(case.status)))
    max_returns = env.settings.case_max_returns
    allowed = (
        allowed_actions(
            case, principal.permissions, pending is not None, max_returns, actor, verification
        )
        if visible
        else []
    )
    return detail_read(
        case,
        await view_of(env, svc, [case], crs, tree),
        allowed,
        await svc.timers.of_case(case.id),
        pending,
    )


@router.get("/{case_id}", response_model=CaseDetail, summary="One case")
async def get_case(
    case_id: CaseId, principal: Reader, env: Env, session: DbSession, crs: OutputCrs
) -> CaseDetail:
    """A case with what you may do to it now; 404 outside your scope."""
    svc = CaseService(session, env)
    case = await svc.get(CaseAccess.of(principal), case_id)
    return await detail(svc, env, principal, case, crs)


@router.get("/{case_id}/timeline", response_model=list[CaseEventRead], summary="Timeline")
async def get_timeline(
    case_id: CaseId, principal: Reader, env: Env, session: DbSession
) -> list[CaseEventRead]:
    """Every step of a case, oldest first: who, when, what, with which comment."""
    svc, access = CaseService(session, env), CaseAccess.of(principal)
    case = await svc.get(access, case_id)
    return [CaseEventRead.model_validate(e) for e in await svc.repo.timeline(access, case.id)]


@router.get("/{case_id}/contact", response_model=ContactRead, summary="Reporter contact")
async def get_contact(
    case_id: CaseId, principal: Reader, env: Env, session: DbSession, ip: ClientIp
) -> ContactRead:
    """The reporter's unmasked contact; needs case.contact, and every read is audited."""
    target = f"case:{case_id}"
    if not principal.can(Perm.CASE_CONTACT):
        await audit.record(
            session,
            action="case.contact_read",
            result="denied",
            actor=principal,
            target=target,
            client_ip=ip,
        )
        raise ProblemError(
            403, "forbidden", f"your role ({principal.role}) lacks case.contact", keep_changes=True
        )
    svc = CaseService(session, env)
    case = await svc.get(CaseAccess.of(principal), case_id)
    contact = unseal(case, env.cipher())
    await audit.record(
        session,
        action="case.contact_read",
        result="success",
        actor=principal,
        target=target,
        client_ip=ip,
        detail={"has_contact": contact is not None},
    )
    if contact is None:
        return ContactRead(name=None, phone=None)
    return ContactRead(name=contact.name, phone=contact.phone, email=contact.email)


def _input(body: ActionRequest | None) -> ActionInput:
    if body is None:
        return ActionInput()
    data = body.model_dump()
    data["photos"] = tuple(data["photos"])
    return ActionInput(**data)


async def check_photos(
    session: AsyncSession, env: CaseEnv, principal: Principal, refs: list[str]
) -> None:
    """422 unless every `photo:` reference was uploaded and is visible to the caller."""
    if refs:
        media = MediaService(session, env.settings)
        await media.check_refs(refs, principal.scope, principal.account_id)


@router.post("/{case_id}/actions/{action}", response_model=CaseDetail, summary="Act on a case")
async def take_action(
    case_id: CaseId,
    action: Action,
    principal: Reader,
    env: Env,
    session: DbSession,
    tasks: BackgroundTasks,
    crs: OutputCrs,
    body: Annotated[ActionRequest | None, Body()] = None,
) -> CaseDetail:
    """Move a case through the workflow; 409 `illegal-transition` names what is allowed."""
    await check_photos(session, env, principal, body.photos if body else [])
    svc = CaseService(session, env)
    access = CaseAccess.of(principal)
    tree = await env.tree.current()  # before the write (see view_of)
    try:
        case = await svc.act(access, Actor.of(principal), case_id, action, _input(body), tree)
    except StaleDataError as exc:
        raise Conflict("the case changed meanwhile: reload it and try again") from exc
    except CalendarError as exc:
        raise Conflict(str(exc)) from exc
    tasks.add_task(publish_all, env.bus, list(svc.events))
    return await detail(svc, env, principal, case, crs, tree)
