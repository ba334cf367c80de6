"""Issue, sign for, report on and cancel orders; the order board of an incident."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.roles import Perm
from cityops.command.actor import Actor
from cityops.command.flow import OPEN_ORDER_STATES, Action, Kind, OrderState, decide
from cityops.command.incidents.timeline import record
from cityops.command.models import Incident, Order
from cityops.command.orders.escalation import Phase, Step, chain_for, next_after
from cityops.command.orders.push import Pusher
from cityops.kit.errors import Forbidden, NotFound, OutOfScope
from cityops.kit.scope import scoped

ACTION_WORDS = {
    Action.SIGN: "签收",
    Action.FEEDBACK: "反馈",
    Action.COMPLETE: "完成",
    Action.CANCEL: "撤销",
}


@dataclass(frozen=True, slots=True)
class NewOrder:
    """One order to one unit."""

    tier: str
    unit_code: str
    parent_code: str | None  # the level above, for the escalation chain
    task: str
    sign_minutes: int
    complete_minutes: int | None
    escalate_minutes: int
    activation_id: int | None = None


class Orders:
    """Order steps in the caller's transaction."""

    def __init__(self, session: AsyncSession, actor: Actor, now: datetime, pusher: Pusher) -> None:
        self.session = session
        self.actor = actor
        self.now = now
        self.pusher = pusher

    def issue(self, incident: Incident, new: NewOrder) -> Order:
        """Add an order with its escalation chain armed; push it to the unit."""
        sign_due = self.now + timedelta(minutes=new.sign_minutes)
        complete_due = (
            self.now + timedelta(minutes=new.complete_minutes) if new.complete_minutes else None
        )
        chain = chain_for(
            new.unit_code,
            new.parent_code,
            timedelta(minutes=new.escalate_minutes),
            complete_due is not None,
        )
        first, at = next_after(chain, 0, Phase.SIGN, sign_due, complete_due)
        order = Order(
            incident_id=incident.id,
            activation_id=new.activation_id,
            tier=new.tier,
            unit_code=new.unit_code,
            task=new.task,
            state=OrderState.ISSUED.value,
            issued_by=self.actor.name,
            issued_at=self.now,
            sign_due_at=sign_due,
            complete_due_at=complete_due,
            chain=[s.to_json() for s in chain],
            next_step=first,
            next_fire_at=at,
        )
        self.session.add(order)
        return order

    async def announce(self, incident: Incident, orders: list[Order]) -> None:
        """After a flush gave them ids: one timeline entry and one push per order."""
        for order in orders:
            record(
                self.session,
                incident.id,
                actor=self.actor.name,
                kind="order_issued",
                at=self.now,
                order_id=order.id,
                text=f"向 {order.unit_code} 下达指令：{order.task}",
                detail={"unit": order.unit_code, "tier": order.tier},
            )
            self.pusher.push(
                self.session,
                unit=order.unit_code,
                title=f"指令待签收：{incident.title}",
                body=order.task,
                ref=f"order:{order.id}",
                now=self.now,
            )

    async def get(self, order_id: int) -> Order:
        """An order to a unit in the actor's scope (404 otherwise)."""
        order = await self.session.get(Order, order_id)
        if order is None or not self.actor.scope.allows(order.unit_code):
            raise NotFound("order", order_id)
        return order

    async def board(self, incident_id: int) -> list[Order]:
        """The incident's orders to units in the actor's scope, in issue order."""
        stmt = select(Order).where(Order.incident_id == incident_id)
        stmt = scoped(stmt, Order.unit_code, self.actor.scope).order_by(Order.id)
        return list((await self.session.scalars(stmt)).all())

    def _may_answer(self, order: Order) -> None:
        # The unit itself signs and reports; a commander of the area may do so on its behalf.
        if order.unit_code == self.actor.org_code:
            return
        if Perm.COMMAND_MANAGE in self.actor.permissions and self.actor.scope.allows(
            order.unit_code
        ):
            return
        raise Forbidden(f"only {order.unit_code} signs for and reports on this order")

    async def act(self, order: Order, action: Action, text: str = "") -> None:
        """Sign for, feed back on, complete or cancel an order (403, 409 by the table)."""
        move = decide(Kind.ORDER, order.state, action, self.actor.permissions)
        if action is Action.CANCEL:
            if not self.actor.scope.allows(order.unit_code):
                raise OutOfScope(order.unit_code)
        else:
            self._may_answer(order)
        order.state = move.to
        if action is Action.SIGN:
            order.signed_at, order.signed_by = self.now, self.actor.name
            late = self.now > order.sign_due_at
            self._rearm(order, Phase.COMPLETE)
            detail: dict[str, object] = {"late": late}
        else:
            detail = {}
        if action in (Action.COMPLETE, Action.CANCEL):
            order.completed_at = self.now
            order.next_fire_at = None  # the chain ends with the order
        word = ACTION_WORDS[action]
        record(
            self.session,
            order.incident_id,
            actor=self.actor.name,
            kind=f"order_{action.value}",
            at=self.now,
            order_id=order.id,
            text=f"{order.unit_code} {word}" + (f"：{text}" if text else ""),
            detail=detail,
        )

    def _rearm(self, order: Order, phase: Phase) -> None:
        chain = [Step.of(raw) for raw in order.chain]
        order.next_step, order.next_fire_at = next_after(
            chain, 0, phase, order.sign_due_at, order.complete_due_at
        )

    async def cancel_open(self, incident: Incident) -> int:
        """Cancel every open order of a closing incident; how many."""
        stmt = select(Order).where(
            Order.incident_id == incident.id, Order.state.in_(OPEN_ORDER_STATES)
        )
        orders = list((await self.session.scalars(stmt)).all())
        for order in orders:
            order.state, order.next_fire_at = OrderState.CANCELLED.value, None
            order.completed_at = self.now
        return len(orders)
