"""Write plan versions and activate them: every order of the level fans out in one transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.command.actor import SYSTEM, Actor
from cityops.command.flow import Action, IncidentState, Kind, decide
from cityops.command.incidents.timeline import record
from cityops.command.models import Activation, Incident, Order, Plan
from cityops.command.orders.service import NewOrder, Orders
from cityops.command.plans.schema import PlanBody
from cityops.command.plans.seed import FLOOD_BODY, FLOOD_CODE, FLOOD_TITLE, FLOOD_TYPE
from cityops.command.plans.targets import Children, Lookup, Unit, resolve
from cityops.kit.db import unit_of_work
from cityops.kit.errors import Conflict, NotFound, OutOfScope, ProblemError
from cityops.org.tree import OrgTree

LEVEL_NAMES = {1: "Ⅰ级", 2: "Ⅱ级", 3: "Ⅲ级", 4: "Ⅳ级"}


async def write_version(
    session: AsyncSession,
    *,
    code: str,
    incident_type: str,
    title: str,
    body: PlanBody,
    owner_code: str,
    actor: Actor,
    now: datetime,
    synthetic: bool = False,
) -> Plan:
    """Add the next version of a plan (versions are never edited)."""
    if not actor.scope.allows(owner_code):
        raise OutOfScope(owner_code)
    latest = await session.scalar(select(func.max(Plan.version)).where(Plan.code == code))
    plan = Plan(
        code=code,
        version=(latest or 0) + 1,
        incident_type=incident_type,
        title=title,
        owner_code=owner_code,
        synthetic=synthetic,
        body=body.model_dump(mode="json"),
        created_by=actor.name,
        created_at=now,
    )
    session.add(plan)
    await session.flush()
    return plan


async def current(session: AsyncSession, code: str) -> Plan:
    """The latest version of a plan."""
    stmt = select(Plan).where(Plan.code == code).order_by(Plan.version.desc()).limit(1)
    plan = await session.scalar(stmt)
    if plan is None:
        raise NotFound("plan", code)
    return plan


async def listing(session: AsyncSession, incident_type: str | None) -> list[Plan]:
    """Every plan version, newest first per code."""
    stmt = select(Plan)
    if incident_type is not None:
        stmt = stmt.where(Plan.incident_type == incident_type)
    return list((await session.scalars(stmt.order_by(Plan.code, Plan.version.desc()))).all())


def _lookup(tree: OrgTree) -> tuple[Lookup, Children]:
    def get(code: str) -> Unit | None:
        node = tree.get(code)
        return None if node is None else Unit(node.code, node.level, node.parent_code)

    def children(code: str) -> list[str]:
        return list(tree.children_of.get(code, ()))

    return get, children


async def activate(
    session: AsyncSession,
    incident: Incident,
    plan: Plan,
    level: int,
    *,
    orders: Orders,
    tree: OrgTree,
    district: str,
) -> list[Order]:
    """启动预案: fan out every order of the level at once, in the caller's transaction."""
    actor, now = orders.actor, orders.now
    move = decide(Kind.INCIDENT, incident.state, Action.ACTIVATE, actor.permissions)
    if not actor.scope.allows(incident.area_code):
        raise OutOfScope(incident.area_code)
    if plan.incident_type != incident.type:
        raise ProblemError(
            422, "invalid", f"plan {plan.code} serves {plan.incident_type}, not {incident.type}"
        )
    body = PlanBody.model_validate(plan.body)
    steps = body.steps_at(level)
    if not steps:
        raise Conflict(f"plan {plan.code} v{plan.version} engages no unit at level {level}")
    activation = Activation(
        incident_id=incident.id,
        plan_id=plan.id,
        level=level,
        activated_by=actor.name,
        activated_at=now,
    )
    session.add(activation)
    await session.flush()
    get, children = _lookup(tree)
    issued: list[Order] = []
    for step in steps:
        for unit in resolve(step, incident.area_code, district, get, children):
            node = tree.get(unit)
            issued.append(
                orders.issue(
                    incident,
                    NewOrder(
                        tier=step.tier.value,
                        unit_code=unit,
                        parent_code=node.parent_code if node else None,
                        task=step.task,
                        sign_minutes=step.sign_minutes,
                        complete_minutes=step.complete_minutes,
                        escalate_minutes=step.escalate_minutes,
                        activation_id=activation.id,
                    ),
                )
            )
    incident.state, incident.level = move.to, level
    record(
        session,
        incident.id,
        actor=actor.name,
        kind="plan_activated",
        at=now,
        text=f"启动{plan.title}（第{plan.version}版）{LEVEL_NAMES[level]}响应，下达 {len(issued)} 条指令",
        detail={"plan": plan.code, "version": plan.version, "level": level, "orders": len(issued)},
    )
    await session.flush()
    await orders.announce(incident, issued)
    return issued


async def seed_plans(
    sessions: async_sessionmaker[AsyncSession], district: str, now: datetime
) -> bool:
    """Write the synthetic flood-control plan once; True when this call wrote it."""
    try:
        async with unit_of_work(sessions) as session:
            if await session.scalar(select(Plan.id).where(Plan.code == FLOOD_CODE).limit(1)):
                return False
            await write_version(
                session,
                code=FLOOD_CODE,
                incident_type=FLOOD_TYPE,
                title=FLOOD_TITLE,
                body=FLOOD_BODY,
                owner_code=district,
                actor=SYSTEM,
                now=now,
                synthetic=True,
            )
    except IntegrityError:  # another worker seeded it at the same moment
        return False
    return True


def state_label(state: str) -> str:
    """Chinese label of an incident state."""
    return {
        IncidentState.DECLARED.value: "已登记",
        IncidentState.RESPONDING.value: "响应中",
        IncidentState.CLOSED.value: "已结束",
    }.get(state, state)
