"""HTTP endpoints of the 12345 adapter under /api/v1/sources/12345 (system clients only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request, Response
from sqlalchemy.orm.exc import StaleDataError

from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm, Role
from cityops.cases.access import Actor, CaseAccess
from cityops.cases.flow.env import CaseEnv
from cityops.cases.flow.service import ActionInput, CaseService
from cityops.cases.flow.table import STATUS_LABELS, Action, Status
from cityops.cases.http.deps import Env
from cityops.cases.intake.claims import check_grant
from cityops.cases.intake.once import open_once, publish_after_response
from cityops.cases.intake.opening import Intake, Source
from cityops.cases.models import CaseRecord
from cityops.cases.sources.hotline.models import HotlineOrder
from cityops.cases.sources.hotline.orders import Context, Received, order_of, receive_order
from cityops.cases.sources.hotline.schemas import (
    ORDER_NO,
    EvaluationIn,
    HotlineOrderIn,
    HotlineOrderRead,
)
from cityops.geo.address.api import geocoder_cache
from cityops.kit.bus import publish_all
from cityops.kit.errors import Conflict, Forbidden, NotFound
from cityops.kit.web import DbSession

router = APIRouter(prefix="/api/v1/sources/12345", tags=["12345 hotline"])
OrderNo = Annotated[str, Path(pattern=ORDER_NO, description="工单编号")]


async def hotline_system(
    principal: Annotated[Principal, Depends(require(Perm.CASE_CREATE))],
) -> Principal:
    """Only the system clients granted the 12345 source speak for the hotline (its orders')."""
    if principal.role != Role.SYSTEM_CLIENT:
        raise Forbidden("12345 orders come from a system client's API key")
    check_grant(principal, Source.HOTLINE_12345)
    return principal


HotlineSystem = Annotated[Principal, Depends(hotline_system)]


def order_read(
    case: CaseRecord, order: HotlineOrder | None, created: bool, twins: list[int]
) -> HotlineOrderRead:
    """How the hotline sees the case of its order."""
    return HotlineOrderRead(
        order_no=case.source_key or "",
        case_id=case.id,
        created=created,
        status=case.status,
        status_label=STATUS_LABELS[Status(case.status)],
        category=case.category,
        request_type=order.request_type if order else None,
        loop_level=case.loop_level,
        owner_code=case.owner_code,
        deadline=case.handle_due_at,
        hotline_deadline=order.hotline_due_at if order else None,
        called_at=order.called_at if order else None,
        located_by=order.located_by if order else None,
        geocode_level=order.geocode_level if order else None,
        geocode_confidence=order.geocode_confidence if order else None,
        callbacks=bool(order and order.callback_url),
        duplicate_candidates=twins,
    )


async def _context(
    request: Request, env: CaseEnv, svc: CaseService, principal: Principal
) -> Context:
    return Context(
        svc,
        CaseAccess.of(principal),
        Actor.of(principal),
        await env.tree.current(),
        await env.index.current(),
        await geocoder_cache(request).current(),
    )


@router.post(
    "/orders",
    response_model=HotlineOrderRead,
    status_code=201,
    summary="Receive a 12345 work order",
    responses={200: {"description": "The order number was already received: the same case"}},
)
async def post_order(
    body: HotlineOrderIn,
    principal: HotlineSystem,
    env: Env,
    session: DbSession,
    request: Request,
    response: Response,
    tasks: BackgroundTasks,
) -> HotlineOrderRead:
    """Open the case of an order (located, routed); a repeated order number returns it (200)."""

    async def receive(svc: CaseService) -> Received:
        return await receive_order(await _context(request, env, svc, principal), body)

    async def received_already(svc: CaseService) -> Received | None:
        again = await receive(svc)  # the same order arrived twice at once: the other's case
        return None if again.result.created else again

    opened = await open_once(session, env, receive, received_already, f"order {body.order_no}")
    if not opened.result.result.created:
        response.status_code = 200
    publish_after_response(tasks, env, opened)
    return _read(opened.result)


def _read(received: Received) -> HotlineOrderRead:
    result: Intake = received.result
    twins = [c.id for c in result.duplicates]
    return order_read(result.case, received.order, result.created, twins)


async def _case_of(svc: CaseService, principal: Principal, order_no: str) -> CaseRecord:
    """The case of an order number, if this system may see it; 404 otherwise."""
    case = await svc.repo.by_source_key(Source.HOTLINE_12345, order_no)
    if case is None or not CaseAccess.of(principal).allows(case):
        raise NotFound("12345 order", order_no)
    return case


@router.get("/orders/{order_no}", response_model=HotlineOrderRead, summary="One 12345 order")
async def get_order(
    order_no: OrderNo, principal: HotlineSystem, env: Env, session: DbSession
) -> HotlineOrderRead:
    """Where the order's case stands now."""
    svc = CaseService(session, env)
    case = await _case_of(svc, principal, order_no)
    return order_read(case, await order_of(svc, case.id), False, [])


@router.post(
    "/orders/{order_no}/evaluation", response_model=HotlineOrderRead, summary="回访 result"
)
async def evaluate_order(
    order_no: OrderNo,
    body: EvaluationIn,
    principal: HotlineSystem,
    env: Env,
    session: DbSession,
    tasks: BackgroundTasks,
) -> HotlineOrderRead:
    """Record the citizen's satisfaction (回访) on a closed order's case."""
    svc = CaseService(session, env)
    case = await _case_of(svc, principal, order_no)
    data = ActionInput(comment=body.comment, satisfaction=body.satisfaction)
    try:
        case = await svc.act(
            CaseAccess.of(principal), Actor.of(principal), case.id, Action.EVALUATE, data
        )
    except StaleDataError as exc:
        raise Conflict("the case changed meanwhile: send the evaluation again") from exc
    tasks.add_task(publish_all, env.bus, list(svc.events))
    return order_read(case, await order_of(svc, case.id), False, [])
