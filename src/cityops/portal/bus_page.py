"""/ops/bus: the event bus's health for the platform operator (connected, lag, dead letters)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.portal.gate import gate, settings_of, tree_of
from cityops.portal.render import error_page, frame, render

router = APIRouter(include_in_schema=False)


@router.get("/ops/bus")
async def bus_page(request: Request) -> Response:
    """The bus as `GET /api/v1/bus/health` reports it, for a district-wide operator."""
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    page = frame(request, await tree_of(request), principal)
    allowed = principal.can(Perm.OUTBOX_MANAGE) and principal.scope.allows(
        settings_of(request).district_code
    )
    if not allowed:
        return error_page(page, 403, "事件总线状态仅向全区平台运维人员开放。")
    health = await request.app.state.bus.health()
    lagging = [c for c in health["consumers"] if c["pending"] or c["ack_pending"]]
    context = {"health": health, "lagging": len(lagging)}
    return render("ops_bus.html", page, context, headers={"Cache-Control": "no-store"})
