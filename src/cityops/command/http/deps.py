"""Dependencies shared by the command endpoints: who calls, the environment, the clock."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request

from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.command.actor import Actor
from cityops.command.flow import Kind, OrderState, allowed
from cityops.command.http.schemas import OrderRead
from cityops.command.models import Order
from cityops.command.runtime import CommandEnv
from cityops.kit.web import MAX_INT

Reader = Annotated[Principal, Depends(require(Perm.COMMAND_READ))]
Manager = Annotated[Principal, Depends(require(Perm.COMMAND_MANAGE))]
Planner = Annotated[Principal, Depends(require(Perm.COMMAND_PLAN))]
Signer = Annotated[Principal, Depends(require(Perm.ORDER_SIGN))]
IncidentId = Annotated[int, Path(ge=1, le=MAX_INT, description="Incident id")]
OrderId = Annotated[int, Path(ge=1, le=MAX_INT, description="Order id")]


async def command_env(request: Request) -> CommandEnv:
    """The process's command environment (set by the module's start hook)."""
    env: CommandEnv = request.app.state.command
    return env


Env = Annotated[CommandEnv, Depends(command_env)]


def order_read(order: Order, actor: Actor, now: datetime) -> OrderRead:
    """An order as the board shows it to this actor."""
    read = OrderRead.model_validate(order)
    read.late = order.state == OrderState.ISSUED and now > order.sign_due_at
    mine = order.unit_code == actor.org_code or Perm.COMMAND_MANAGE in actor.permissions
    read.allowed = allowed(Kind.ORDER, order.state, actor.permissions) if mine else []
    return read
