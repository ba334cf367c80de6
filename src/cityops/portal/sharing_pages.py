"""Sharing pages (分层共享): the owner side's queue (共享审批), a unit's 我的申请, a grant's access log."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.responses import Response

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.kit.db import unit_of_work
from cityops.kit.errors import ProblemError
from cityops.kit.web import client_ip, sessionmaker_of
from cityops.portal.flash import clear_flash, set_flash, take_flash
from cityops.portal.forms import read_form, text
from cityops.portal.gate import gate, settings_of, tree_of
from cityops.portal.render import Frame, error_page, frame, render
from cityops.portal.session import CSRF_FIELD, csrf_valid
from cityops.sharing.decide import LABELS, Action
from cityops.sharing.kinds import KindRegistry
from cityops.sharing.schemas import ApplicationCreate
from cityops.sharing.service import SharingService

router = APIRouter(include_in_schema=False)
SHANGHAI = timedelta(hours=8)
STALE_FORM = "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试。"


def _kinds(request: Request) -> KindRegistry:
    registry: KindRegistry = request.app.state.sharing_kinds
    return registry


async def _page(request: Request, permission: Perm) -> tuple[Principal, Frame] | Response:
    """The caller and the frame, or the login redirect / a 403 page without the permission."""
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    page = frame(request, await tree_of(request), principal)
    if not principal.can(permission):
        return error_page(page, 403, "您的角色无权使用此页面。")
    return principal, page


def _show(request: Request, template: str, page: Frame, context: dict[str, Any]) -> Response:
    response = render(template, page, {"flash": take_flash(request), "labels": LABELS, **context})
    response.headers["Cache-Control"] = "no-store"
    clear_flash(request, response)
    return response


@router.get("/sharing/review")
async def review_page(request: Request) -> Response:
    """The owner side's queue: pending applications first, then the decided ones."""
    found = await _page(request, Perm.SHARING_APPROVE)
    if not isinstance(found, tuple):
        return found
    principal, page = found
    async with unit_of_work(sessionmaker_of(request)) as session:
        rows = await SharingService(session, _kinds(request)).applications(principal, as_owner=True)
    rows.sort(key=lambda a: (a.status != "pending", -a.id))
    return _show(request, "sharing/review.html", page, {"applications": rows})


@router.get("/sharing/mine")
async def mine_page(request: Request) -> Response:
    """A unit's own applications and the form to apply."""
    found = await _page(request, Perm.SHARING_APPLY)
    if not isinstance(found, tuple):
        return found
    principal, page = found
    async with unit_of_work(sessionmaker_of(request)) as session:
        svc = SharingService(session, _kinds(request))
        rows = await svc.applications(principal, as_owner=False)
    context = {"applications": rows, "kinds": _kinds(request).all()}
    return _show(request, "sharing/mine.html", page, context)


@router.get("/sharing/grants/{grant_id}")
async def grant_page(request: Request, grant_id: str) -> Response:
    """A grant and every access through it."""
    found = await _page(request, Perm.SHARING_APPLY)
    if not isinstance(found, tuple):
        found = await _page(request, Perm.SHARING_APPROVE)
        if not isinstance(found, tuple):
            return found
    principal, page = found
    if not grant_id.isdigit() or not 0 < int(grant_id) < 2**31:
        return error_page(page, 404, "没有这项授权，或它不在您的数据范围内。")
    try:
        async with unit_of_work(sessionmaker_of(request)) as session:
            svc = SharingService(session, _kinds(request))
            grant = await svc.grant(principal, int(grant_id))
            accesses = await svc.accesses(principal, int(grant_id), 500, 0)
    except ProblemError:
        return error_page(page, 404, "没有这项授权，或它不在您的数据范围内。")
    return _show(request, "sharing/grant.html", page, {"grant": grant, "accesses": accesses})


def _day_end(value: str) -> datetime | None:
    """The end of a Beijing calendar day given as YYYY-MM-DD, in UTC (None when blank)."""
    if not value:
        return None
    day = datetime.strptime(value, "%Y-%m-%d").date()
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC) - SHANGHAI


def _day_start(value: str) -> datetime | None:
    """The start of a Beijing calendar day given as YYYY-MM-DD, in UTC (None when blank)."""
    if not value:
        return None
    day = datetime.strptime(value, "%Y-%m-%d").date()
    return datetime.combine(day, time(0, 0), tzinfo=UTC) - SHANGHAI


def _split(value: str) -> list[str]:
    return [p for p in value.replace("，", ",").replace(" ", ",").split(",") if p]


@router.post("/sharing/apply")
async def apply_form(request: Request) -> Response:
    """File an application from 我的申请's form, then back to the page."""
    found = await _page(request, Perm.SHARING_APPLY)
    if not isinstance(found, tuple):
        return found
    principal, page = found
    form = await read_form(request)
    if not csrf_valid(request, text(form, CSRF_FIELD, 200)):
        return error_page(page, 403, STALE_FORM)
    response = RedirectResponse("/sharing/mine", status_code=303)
    secure = settings_of(request).cookie_secure
    try:
        keys = _split(text(form, "keys", 2000))
        body = ApplicationCreate(
            kind=text(form, "kind", 60),
            resource_ids=_split(text(form, "resource_ids", 4000)),
            keys=keys or None,
            data_from=_day_start(text(form, "data_from", 10)),
            data_until=_day_end(text(form, "data_until", 10)),
            purpose=text(form, "purpose", 500),
            expires_at=_day_end(text(form, "expires_on", 10)),
        )
        async with unit_of_work(sessionmaker_of(request)) as session:
            made = await SharingService(session, _kinds(request)).apply(
                principal, body, client_ip(request)
            )
    except (ValueError, ValidationError) as exc:
        set_flash(response, "error", f"申请未提交：填写有误（{_first_error(exc)}）", secure=secure)
        return response
    except ProblemError as exc:
        set_flash(response, "error", f"申请未提交：{exc.detail}", secure=secure)
        return response
    set_flash(response, "ok", f"申请 {made.id} 已提交，等待审批。", secure=secure)
    return response


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)[:200]


@router.post("/sharing/act")
async def act_form(request: Request) -> Response:
    """Approve, reject, withdraw or revoke from a page's form, then back to that page."""
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    page = frame(request, await tree_of(request), principal)
    form = await read_form(request)
    if not csrf_valid(request, text(form, CSRF_FIELD, 200)):
        return error_page(page, 403, STALE_FORM)
    raw_id, name = text(form, "application_id", 12), text(form, "action", 20)
    if not raw_id.isdigit() or not 0 < int(raw_id) < 2**31 or name not in set(Action):
        return error_page(page, 400, "未指定有效的申请或操作。")
    action = Action(name)
    back = "/sharing/mine" if action is Action.WITHDRAW else "/sharing/review"
    response = RedirectResponse(back, status_code=303)
    secure = settings_of(request).cookie_secure
    try:
        async with unit_of_work(sessionmaker_of(request)) as session:
            await SharingService(session, _kinds(request)).act(
                principal, int(raw_id), action, client_ip(request), text(form, "reason", 500)
            )
    except ProblemError as exc:
        set_flash(response, "error", f"「{LABELS[action]}」未完成：{exc.detail}", secure=secure)
        return response
    set_flash(response, "ok", f"申请 {raw_id} 已{LABELS[action]}。", secure=secure)
    return response
