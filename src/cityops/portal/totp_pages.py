"""Portal pages of two-factor sign-in: status, enrolment with a QR code, the recovery codes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from markupsafe import Markup
from starlette.responses import Response

from cityops.auth.principal import Principal
from cityops.auth.signin import mfa
from cityops.auth.signin.replies import now_of
from cityops.kit.db import unit_of_work
from cityops.kit.errors import ProblemError
from cityops.kit.web import client_ip, sessionmaker_of
from cityops.portal.gate import settings_of, to_login, tree_of
from cityops.portal.render import error_page, frame, render
from cityops.portal.session import CSRF_FIELD, csrf_valid, portal_principal

router = APIRouter(include_in_schema=False)

Csrf = Annotated[str, Form(alias=CSRF_FIELD)]


async def _page(
    request: Request, principal: Principal, status: int = 200, **context: object
) -> Response:
    async with unit_of_work(sessionmaker_of(request)) as session:
        state = await mfa.status(session, settings_of(request), principal)
    page = frame(request, await tree_of(request), principal)
    values: dict[str, object] = {"state": state, "enrolment": None, "codes": None}
    values.update({"error": None, "pending": False, "qr": ""})
    values.update(context)
    return render("totp.html", page, values, status=status)


async def _caller(request: Request, csrf: str | None) -> Principal | Response:
    principal = await portal_principal(request)
    if principal is None:
        return to_login(request)
    if csrf is not None and not csrf_valid(request, csrf):
        page = frame(request, await tree_of(request), principal)
        return error_page(page, 403, "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试。")
    return principal


@router.get("/totp")
async def totp_page(request: Request) -> Response:
    """Whether I sign in with two factors; the way to set it up."""
    principal = await _caller(request, None)
    if isinstance(principal, Response):
        return principal
    return await _page(request, principal)


@router.post("/totp/enrol")
async def totp_enrol(request: Request, csrf: Csrf = "") -> Response:
    """A new secret: its QR code and text, shown this once, with the form for the first code."""
    principal = await _caller(request, csrf)
    if isinstance(principal, Response):
        return principal
    try:
        async with unit_of_work(sessionmaker_of(request)) as session:
            enrolment = await mfa.begin(
                session, settings_of(request), principal, client_ip(request)
            )
    except ProblemError:
        return await _page(request, principal, 409, error="两步验证已开启，无需重复设置。")
    # segno writes the SVG from the URI alone: no user text reaches it unescaped.
    qr = Markup(enrolment.qr_svg)  # noqa: S704
    return await _page(request, principal, enrolment=enrolment, qr=qr)


@router.post("/totp/confirm")
async def totp_confirm(
    request: Request, csrf: Csrf = "", code: Annotated[str, Form()] = ""
) -> Response:
    """Confirm with the first code; the recovery codes are shown this once."""
    principal = await _caller(request, csrf)
    if isinstance(principal, Response):
        return principal
    if not code or len(code) > 64:
        return await _page(request, principal, 400, pending=True, error="请输入 6 位验证码。")
    refused = False
    async with unit_of_work(sessionmaker_of(request)) as session:
        try:
            codes = await mfa.confirm(
                session,
                settings_of(request),
                principal,
                code.strip(),
                client_ip(request),
                now_of(request),
            )
        except ProblemError:
            refused, codes = True, []
    if refused:
        error = "验证码不正确或已过期，请输入应用当前显示的验证码；如仍失败，请重新生成二维码。"
        return await _page(request, principal, 422, pending=True, error=error)
    request.app.state.principal_cache.forget_account(principal.account_id)
    return await _page(request, principal, codes=codes)
