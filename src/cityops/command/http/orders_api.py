"""/api/v1/command/orders and /plans: sign for and report on orders; read and write plans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import select

from cityops.command.actor import Actor
from cityops.command.flow import OPEN_ORDER_STATES, Action
from cityops.command.http.deps import Env, OrderId, Planner, Reader, Signer, order_read
from cityops.command.http.schemas import WORD, OrderRead, PlanCreate, PlanRead, Text
from cityops.command.models import Order
from cityops.command.orders.service import Orders
from cityops.command.plans import service as plans
from cityops.kit.scope import scoped
from cityops.kit.web import MAX_INT, DbSession

orders_router = APIRouter(prefix="/api/v1/command/orders", tags=["command"])
plans_router = APIRouter(prefix="/api/v1/command/plans", tags=["command"])


@orders_router.get("", response_model=list[OrderRead], summary="Orders to my units")
async def my_orders(
    principal: Reader,
    env: Env,
    session: DbSession,
    open_only: Annotated[bool, Query(alias="open")] = True,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT)] = 0,
) -> list[OrderRead]:
    """Orders to units in your scope (a community worker: his own), oldest due first."""
    actor, now = Actor.of(principal), env.clock()
    stmt = scoped(select(Order), Order.unit_code, actor.scope)
    if open_only:
        stmt = stmt.where(Order.state.in_(OPEN_ORDER_STATES))
    stmt = stmt.order_by(Order.sign_due_at, Order.id).limit(limit).offset(offset)
    return [order_read(o, actor, now) for o in (await session.scalars(stmt)).all()]


@orders_router.get("/{order_id}", response_model=OrderRead, summary="One order")
async def get_order(
    order_id: OrderId, principal: Reader, env: Env, session: DbSession
) -> OrderRead:
    """An order to a unit in your scope; 404 otherwise."""
    actor, now = Actor.of(principal), env.clock()
    order = await Orders(session, actor, now, env.pusher).get(order_id)
    return order_read(order, actor, now)


async def _act(
    order_id: int, action: Action, text: str, principal: Signer, env: Env, session: DbSession
) -> OrderRead:
    actor, now = Actor.of(principal), env.clock()
    svc = Orders(session, actor, now, env.pusher)
    order = await svc.get(order_id)
    await svc.act(order, action, text)
    return order_read(order, actor, now)


@orders_router.post("/{order_id}/sign", response_model=OrderRead, summary="Sign for (签收)")
async def sign(order_id: OrderId, principal: Signer, env: Env, session: DbSession) -> OrderRead:
    """Sign for an order to your unit; its escalation chain stops."""
    return await _act(order_id, Action.SIGN, "", principal, env, session)


@orders_router.post("/{order_id}/feedback", response_model=OrderRead, summary="Report back")
async def feedback(
    order_id: OrderId, body: Text, principal: Signer, env: Env, session: DbSession
) -> OrderRead:
    """Report progress on a signed order (反馈)."""
    return await _act(order_id, Action.FEEDBACK, body.text, principal, env, session)


@orders_router.post("/{order_id}/complete", response_model=OrderRead, summary="Report done")
async def complete(
    order_id: OrderId, body: Text, principal: Signer, env: Env, session: DbSession
) -> OrderRead:
    """Report an order done (完成)."""
    return await _act(order_id, Action.COMPLETE, body.text, principal, env, session)


@orders_router.post("/{order_id}/cancel", response_model=OrderRead, summary="Cancel (撤销)")
async def cancel(
    order_id: OrderId, body: Text, principal: Signer, env: Env, session: DbSession
) -> OrderRead:
    """Cancel an order in flight (commanders of its unit's area)."""
    return await _act(order_id, Action.CANCEL, body.text, principal, env, session)


@plans_router.get("", response_model=list[PlanRead], summary="Contingency plans")
async def list_plans(
    principal: Reader,
    session: DbSession,
    incident_type: Annotated[str | None, Query(pattern=WORD)] = None,
) -> list[PlanRead]:
    """Every plan version (they are district-wide templates), newest first per plan."""
    return [PlanRead.model_validate(p) for p in await plans.listing(session, incident_type)]


@plans_router.get("/{code}", response_model=PlanRead, summary="A plan's latest version")
async def get_plan(
    code: Annotated[str, Path(pattern=WORD)], principal: Reader, session: DbSession
) -> PlanRead:
    """The latest version of a plan."""
    return PlanRead.model_validate(await plans.current(session, code))


@plans_router.post("", response_model=PlanRead, status_code=201, summary="Write a plan version")
async def write_plan(
    body: PlanCreate, principal: Planner, env: Env, session: DbSession
) -> PlanRead:
    """Add the next version of a plan (the first creates it); versions are never edited."""
    plan = await plans.write_version(
        session,
        code=body.code,
        incident_type=body.incident_type,
        title=body.title,
        body=body.body,
        owner_code=principal.org_code,
        actor=Actor.of(principal),
        now=env.clock(),
        synthetic=body.synthetic,
    )
    return PlanRead.model_validate(plan)
