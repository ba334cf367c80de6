"""/api/v1/command/incidents: open, read, note, link, relevel, activate, adjust, close."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from cityops.command.actor import Actor
from cityops.command.flow import Action, IncidentState, Kind, allowed
from cityops.command.http.deps import Env, IncidentId, Manager, Reader, order_read
from cityops.command.http.schemas import (
    Activated,
    ActivationCreate,
    CaseLink,
    IncidentCreate,
    IncidentDetail,
    IncidentRead,
    LevelChange,
    NoteCreate,
    OrderCreate,
    OrderRead,
    Text,
    TimelineRead,
)
from cityops.command.incidents.service import Incidents, NewIncident
from cityops.command.incidents.timeline import entries
from cityops.command.models import Incident
from cityops.command.orders.service import NewOrder, Orders
from cityops.command.plans import service as plans
from cityops.command.runtime import CommandEnv
from cityops.kit.errors import NotFound, ProblemError
from cityops.kit.web import MAX_INT, DbSession

router = APIRouter(prefix="/api/v1/command/incidents", tags=["command"])


async def _detail(svc: Incidents, incident: Incident) -> IncidentDetail:
    actions = (
        allowed(Kind.INCIDENT, incident.state, svc.actor.permissions)
        if svc.commands(incident)
        else []
    )
    return IncidentDetail(
        **IncidentRead.model_validate(incident).model_dump(),
        cases=await svc.cases(incident),
        allowed=actions,
    )


def _services(session: DbSession, env: CommandEnv, actor: Actor) -> tuple[Incidents, Orders]:
    now = env.clock()
    return Incidents(session, actor, now), Orders(session, actor, now, env.pusher)


@router.get("", response_model=list[IncidentRead], summary="Incidents in scope")
async def list_incidents(
    principal: Reader,
    env: Env,
    session: DbSession,
    state: Annotated[IncidentState | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[IncidentRead]:
    """Incidents of your area, or with an order to a unit of yours; newest first."""
    svc, _ = _services(session, env, Actor.of(principal))
    found = await svc.listing(state.value if state else None, limit, offset)
    return [IncidentRead.model_validate(i) for i in found]


@router.post("", response_model=IncidentDetail, status_code=201, summary="Declare an incident")
async def open_incident(
    body: IncidentCreate, principal: Manager, env: Env, session: DbSession
) -> IncidentDetail:
    """Declare an incident in your area (by hand, from a case, a scene event or a video alarm)."""
    svc, _ = _services(session, env, Actor.of(principal))
    incident = await svc.open(NewIncident(**body.model_dump()))
    return await _detail(svc, incident)


@router.get("/{incident_id}", response_model=IncidentDetail, summary="One incident")
async def get_incident(
    incident_id: IncidentId, principal: Reader, env: Env, session: DbSession
) -> IncidentDetail:
    """An incident with its linked cases and what you may do; 404 outside your scope."""
    svc, _ = _services(session, env, Actor.of(principal))
    return await _detail(svc, await svc.get(incident_id))


@router.get("/{incident_id}/timeline", response_model=list[TimelineRead], summary="Timeline")
async def get_timeline(
    incident_id: IncidentId, principal: Reader, env: Env, session: DbSession
) -> list[TimelineRead]:
    """Everything said and done, oldest first (orders outside your scope left out)."""
    svc, _ = _services(session, env, Actor.of(principal))
    incident = await svc.get(incident_id)
    rows = await entries(session, incident.id, svc.actor.scope, svc.commands(incident))
    return [TimelineRead.model_validate(e) for e in rows]


@router.get("/{incident_id}/orders", response_model=list[OrderRead], summary="Order board")
async def get_board(
    incident_id: IncidentId, principal: Reader, env: Env, session: DbSession
) -> list[OrderRead]:
    """The order board: every order of the incident to a unit in your scope, and its state."""
    svc, orders = _services(session, env, Actor.of(principal))
    incident = await svc.get(incident_id)
    return [order_read(o, svc.actor, svc.now) for o in await orders.board(incident.id)]


@router.post("/{incident_id}/notes", status_code=204, summary="Record a note")
async def add_note(
    incident_id: IncidentId, body: NoteCreate, principal: Manager, env: Env, session: DbSession
) -> None:
    """Add something said or done to the timeline."""
    svc, _ = _services(session, env, Actor.of(principal))
    await svc.note(await svc.get(incident_id), body.text)


@router.post("/{incident_id}/cases", status_code=204, summary="Link a case")
async def link_case(
    incident_id: IncidentId, body: CaseLink, principal: Manager, env: Env, session: DbSession
) -> None:
    """Link a case to the incident (once)."""
    svc, _ = _services(session, env, Actor.of(principal))
    await svc.link_case(await svc.get(incident_id), body.case_id)


@router.post("/{incident_id}/level", response_model=IncidentDetail, summary="Change level")
async def change_level(
    incident_id: IncidentId, body: LevelChange, principal: Manager, env: Env, session: DbSession
) -> IncidentDetail:
    """Change the response level (activate the plan again to engage the new level's units)."""
    svc, _ = _services(session, env, Actor.of(principal))
    incident = await svc.get(incident_id)
    await svc.relevel(incident, body.level)
    return await _detail(svc, incident)


@router.post(
    "/{incident_id}/activations", response_model=Activated, status_code=201, summary="Activate"
)
async def activate_plan(
    incident_id: IncidentId,
    body: ActivationCreate,
    principal: Manager,
    env: Env,
    session: DbSession,
    request: Request,
) -> Activated:
    """启动预案: the plan's orders for the level go out to every unit at once."""
    svc, orders = _services(session, env, Actor.of(principal))
    incident = await svc.get(incident_id)
    plan = await plans.current(session, body.plan_code)
    tree = await request.app.state.org_tree.current()
    level = body.level or incident.level
    issued = await plans.activate(
        session,
        incident,
        plan,
        level,
        orders=orders,
        tree=tree,
        district=env.settings.district_code,
    )
    reads = [order_read(o, svc.actor, svc.now) for o in issued]
    return Activated(plan_code=plan.code, version=plan.version, level=level, orders=reads)


@router.post(
    "/{incident_id}/orders", response_model=OrderRead, status_code=201, summary="Add an order"
)
async def add_order(
    incident_id: IncidentId,
    body: OrderCreate,
    principal: Manager,
    env: Env,
    session: DbSession,
    request: Request,
) -> OrderRead:
    """Adjust in flight: one more order to a unit in your scope."""
    svc, orders = _services(session, env, Actor.of(principal))
    incident = await svc.get(incident_id)
    svc.require_command(incident, Action.ADD_ORDER)
    tree = await request.app.state.org_tree.current()
    node = tree.get(body.unit_code)
    if node is None:
        raise NotFound("org unit", body.unit_code)
    if not svc.actor.scope.allows(body.unit_code):
        raise ProblemError(403, "out-of-scope", f"{body.unit_code} is outside your data scope")
    order = orders.issue(
        incident,
        NewOrder(
            tier=body.tier.value,
            unit_code=body.unit_code,
            parent_code=node.parent_code,
            task=body.task,
            sign_minutes=body.sign_minutes,
            complete_minutes=body.complete_minutes,
            escalate_minutes=body.escalate_minutes,
        ),
    )
    await session.flush()
    await orders.announce(incident, [order])
    return order_read(order, svc.actor, svc.now)


@router.post("/{incident_id}/close", response_model=IncidentDetail, summary="End the response")
async def close_incident(
    incident_id: IncidentId, body: Text, principal: Manager, env: Env, session: DbSession
) -> IncidentDetail:
    """End the response; orders still open are cancelled."""
    svc, orders = _services(session, env, Actor.of(principal))
    incident = await svc.get(incident_id)
    await svc.close(incident, body.text)
    await orders.cancel_open(incident)
    return await _detail(svc, incident)
