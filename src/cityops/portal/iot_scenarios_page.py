"""/iot/scenarios: scenario templates, the caller's instances and open alarms, with ack/clear."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from starlette.responses import RedirectResponse, Response

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.iot import act_on_scene_event, scenario_board
from cityops.kit.db import unit_of_work
from cityops.kit.errors import ProblemError
from cityops.kit.web import MAX_INT, sessionmaker_of
from cityops.portal.flash import clear_flash, set_flash, take_flash
from cityops.portal.gate import gate, settings_of, tree_of
from cityops.portal.render import error_page, frame, render
from cityops.portal.session import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False)
PAGE = "/iot/scenarios"
EventId = Annotated[int, Path(ge=1, le=MAX_INT)]
DONE = {"ack": "告警已确认。", "clear": "告警已解除。"}


@router.get(PAGE)
async def scenarios_page(request: Request) -> Response:
    """Templates, instances (with the breaker's reason) and open alarms in the caller's scope."""
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    page = frame(request, await tree_of(request), principal)
    if not (principal.can(Perm.IOT_READ) or principal.can(Perm.IOT_SCENARIO)):
        return error_page(page, 403, "物联场景仅向有物联感知权限的账号开放。")
    engine = getattr(request.app.state, "iot_scenarios", None)
    async with unit_of_work(sessionmaker_of(request)) as session:
        board = await scenario_board(session, principal, engine)
    context = {
        "board": board,
        "can_act": principal.can(Perm.IOT_SCENARIO),
        "flash": take_flash(request),
    }
    response = render("iot/scenarios.html", page, context, headers={"Cache-Control": "no-store"})
    clear_flash(request, response)
    return response


@router.post(PAGE + "/events/{event_id}/{action}")
async def act(request: Request, event_id: EventId, action: Literal["ack", "clear"]) -> Response:
    """Acknowledge or clear an alarm from the page, then show the page again."""
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    form = await request.form()
    submitted = form.get(CSRF_FIELD)
    if not isinstance(submitted, str) or not csrf_valid(request, submitted[:200]):
        return error_page(
            frame(request, await tree_of(request), principal), 403, "表单已过期，请刷新后重试。"
        )
    if not principal.can(Perm.IOT_SCENARIO):
        return error_page(
            frame(request, await tree_of(request), principal), 403, "您的角色不能处理告警。"
        )
    response = RedirectResponse(PAGE, status_code=303)
    secure = settings_of(request).cookie_secure
    try:
        async with unit_of_work(sessionmaker_of(request)) as session:
            await act_on_scene_event(session, principal, event_id, action)
    except ProblemError as exc:
        text = "告警不存在或不在您的范围内。" if exc.status == 404 else "告警状态已变化，请刷新。"
        set_flash(response, "error", text, secure=secure)
        return response
    set_flash(response, "ok", DONE[action], secure=secure)
    return response
