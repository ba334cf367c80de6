"""The event workbench (事件工作台): the case list with filters, one case, and acting on it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.cases import (
    ACTION_LABELS,
    LOOP_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    Action,
    CaseAccess,
    CaseService,
    LoopLevel,
    Source,
    Status,
    env_of,
)
from cityops.kit.db import unit_of_work
from cityops.kit.web import sessionmaker_of
from cityops.portal.case_forms import perform
from cityops.portal.case_page import case_id_of, load_case_view
from cityops.portal.flash import clear_flash, set_flash, take_flash
from cityops.portal.forms import ACT_PATH, read_form, text
from cityops.portal.gate import gate, settings_of, tree_of
from cityops.portal.render import error_page, frame, render
from cityops.portal.session import CSRF_FIELD, csrf_valid
from cityops.portal.workbench_views import PAGE_SIZE, case_row, parse_filters, unit_options

router = APIRouter(include_in_schema=False)
NO_CASES = "您的角色不处理事件。"
NOT_VISIBLE = "案件不存在，或不在您的数据范围内。"


async def case_reader(request: Request) -> Principal | Response:
    """The logged-in caller who may read cases, or the login redirect / 403 page."""
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    if not principal.can(Perm.CASE_READ):
        return error_page(frame(request, await tree_of(request), principal), 403, NO_CASES)
    return principal


def respond(request: Request, template: str, page: Any, context: dict[str, Any]) -> Response:
    """Render a page with the one-shot message left for it, and forget the message."""
    response = render(template, page, {"flash": take_flash(request), **context})
    clear_flash(request, response)
    return response


def _options() -> dict[str, list[tuple[str, str]]]:
    return {
        "statuses": [(s.value, STATUS_LABELS[s.value]) for s in Status],
        "sources": [(s.value, SOURCE_LABELS[s.value]) for s in Source],
        "loops": [(lv.value, LOOP_LABELS[lv.value]) for lv in LoopLevel],
    }


@router.get("/cases")
async def case_list(request: Request) -> Response:
    """Cases in the caller's view, newest first, narrowed by the filters."""
    principal = await case_reader(request)
    if not isinstance(principal, Principal):
        return principal
    tree, env = await tree_of(request), env_of(request)
    filters = parse_filters(request.query_params)
    async with unit_of_work(sessionmaker_of(request)) as session:
        svc = CaseService(session, env)
        offset = (filters.page - 1) * PAGE_SIZE
        items, total = await svc.list_cases(
            CaseAccess.of(principal), filters.case_filter(), PAGE_SIZE, offset
        )
        timers = await svc.timers_of([c.id for c in items])
    now = env.now()
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    context = {
        "filters": filters,
        "rows": [case_row(c, tree, timers[c.id], now) for c in items],
        "total": total,
        "pages": pages,
        "units": unit_options(tree, principal.scope, settings_of(request).district_code),
        "can_report": principal.can(Perm.CASE_CREATE),
        **_options(),
    }
    return respond(request, "cases/list.html", frame(request, tree, principal), context)


@router.get("/cases/{case_id}")
async def case_detail(request: Request, case_id: str) -> Response:
    """One case: fields, divisions, photos, deadlines, timeline, map and the allowed actions."""
    principal = await case_reader(request)
    if not isinstance(principal, Principal):
        return principal
    tree = await tree_of(request)
    page = frame(request, tree, principal)
    number = case_id_of(case_id)
    view = await load_case_view(request, principal, number) if number else None
    if view is None:
        return error_page(page, 404, NOT_VISIBLE)
    return respond(request, "cases/detail.html", page, {"view": view})


@router.post(ACT_PATH)
async def act(request: Request) -> Response:
    """Take one action from a case page's form (desktop or phone), then back to the page."""
    principal = await case_reader(request)
    if not isinstance(principal, Principal):
        return principal
    form = await read_form(request)
    page = frame(request, await tree_of(request), principal)
    if not csrf_valid(request, text(form, CSRF_FIELD, 200)):
        message = "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试。"
        return error_page(page, 403, message)
    number = case_id_of(text(form, "case_id", 20))
    name = text(form, "action", 40)
    if number is None or name not in {a.value for a in Action}:
        return error_page(page, 400, "未指定有效的案件或操作。")
    action = Action(name)
    phone = text(form, "view", 4) == "m"
    outcome = await perform(request, principal, number, action, form)
    back = f"/m/cases/{number}" if phone else f"/cases/{number}"
    if outcome.error is None and not outcome.still_visible:
        back = "/m/" if phone else "/cases"
    response = RedirectResponse(back, status_code=303)
    secure = settings_of(request).cookie_secure
    if outcome.error is not None:
        set_flash(
            response, "error", f"「{ACTION_LABELS[action]}」未完成：{outcome.error}", secure=secure
        )
    elif outcome.still_visible:
        set_flash(response, "ok", f"已{ACTION_LABELS[action]}。", secure=secure)
    else:
        done = f"案件 {number} 已{ACTION_LABELS[action]}，已转出您的数据范围。"
        set_flash(response, "ok", done, secure=secure)
    return response
