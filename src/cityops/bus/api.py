"""GET /api/v1/bus/health: the bus as the platform operator sees it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.bus.schemas import BusHealth
from cityops.kit.errors import Forbidden

router = APIRouter(prefix="/api/v1/bus", tags=["bus"])
Operator = Annotated[Principal, Depends(require(Perm.OUTBOX_MANAGE))]


@router.get("/health", response_model=BusHealth, summary="Event bus health")
async def bus_health(principal: Operator, request: Request) -> BusHealth:
    """Connection, per-consumer lag and dead letters; the bus spans the district, so only
    a district-wide operator sees it."""
    if not principal.scope.allows(request.app.state.settings.district_code):
        raise Forbidden("the bus serves the whole district: a district-wide scope is needed")
    report = await request.app.state.bus.health()
    return BusHealth.model_validate(report)
