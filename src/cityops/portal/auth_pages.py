"""Portal pages of the session: login, logout and changing one's own password."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cityops.auth import service
from cityops.auth.passwords import MIN_LENGTH
from cityops.auth.principal import Principal
from cityops.auth.signin.replies import now_of
from cityops.config import Settings
from cityops.kit.db import unit_of_work
from cityops.kit.errors import ProblemError
from cityops.kit.web import client_ip, sessionmaker_of
from cityops.org.tree import OrgTree
from cityops.portal.gate import settings_of, to_login, tree_of
from cityops.portal.render import Frame, error_page, frame, render
from cityops.portal.session import (
    CSRF_FIELD,
    FormCookie,
    clear_session_cookie,
    csrf_valid,
    portal_principal,
    safe_next,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)

MAX_USERNAME = 64
MAX_PASSWORD = 256
PASSWORD_RULES = (
    f"至少 {MIN_LENGTH} 个字符；包含小写字母、大写字母、数字、符号中的至少三类；不得包含用户名。"
)
TOO_LONG = f"新密码不能超过 {MAX_PASSWORD} 个字符"
_POLICY_TEXTS = {
    f"at least {MIN_LENGTH} characters": f"新密码至少需要 {MIN_LENGTH} 个字符",
    "at least three of: lower case, upper case, digits, symbols": (
        "新密码需包含小写字母、大写字母、数字、符号中的至少三类"
    ),
    "must not contain the username": "新密码不得包含用户名",
    f"at most {MAX_PASSWORD} characters": TOO_LONG,
    "same as old": "新密码不能与当前密码相同",
}

Csrf = Annotated[str, Form(alias=CSRF_FIELD)]
# There is no session before the login, so the form's token is a cookie of its own; it lasts a
# shift so that a login page left open at a duty desk still works.
LOGIN_TOKEN = FormCookie("cityops_login", "/login", CSRF_FIELD, max_age=12 * 3600)
EXPIRED = "页面已过期，请重新登录。"


async def _csrf_refused(request: Request, principal: Principal | None) -> Response:
    page = frame(request, await tree_of(request), principal)
    return error_page(page, 403, "表单已过期或来源不可信（CSRF 校验失败），请刷新页面后重试。")


@router.get("/login")
async def login_form(
    request: Request, next_path: Annotated[str, Query(alias="next")] = ""
) -> Response:
    """Show the login form (or go home when already logged in)."""
    if await portal_principal(request) is not None:
        return RedirectResponse(safe_next(next_path), status_code=303)
    page = frame(request, await tree_of(request))
    return _login_page(request, page, 200, None, "", safe_next(next_path))


def _login_page(
    request: Request,
    page: Frame,
    status: int,
    error: str | None,
    username: str,
    target: str,
    challenge: str = "",
    retry_after: int | None = None,
) -> Response:
    """The login form (or its code step) with its CSRF token, the token's cookie alongside."""
    token = LOGIN_TOKEN.token(request)
    context = {
        "error": error,
        "username": username,
        "next": target,
        "csrf": token,
        "challenge": challenge,
    }
    response = render("login.html", page, context, status=status)
    LOGIN_TOKEN.keep(response, settings_of(request), token)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def refusal_text(
    result: service.LoginResult, lockout_minutes: int, wrong: str = "用户名或密码错误。"
) -> tuple[int, str]:
    """The status and the Chinese message of a refused step: a warning before the last try."""
    if result.outcome is service.LoginOutcome.LOCKED:
        seconds = int(result.locked_for.total_seconds()) if result.locked_for else 0
        minutes = max(1, math.ceil(seconds / 60))
        return 429, (
            f"登录失败次数过多，本地址的登录已被锁定，请 {minutes} 分钟后再试，"
            "或联系安全管理员解锁。"
        )
    if result.locked_for is not None:
        return 401, (
            f"{wrong}本地址的登录已被锁定 {lockout_minutes} 分钟，请稍后再试或联系安全管理员解锁。"
        )
    if result.attempts_left == 1:
        return 401, (f"{wrong}再错 1 次，本地址的登录将被锁定 {lockout_minutes} 分钟。")
    return 401, wrong


def _signed_in(
    result: service.LoginResult, settings: Settings, target: str, *, with_code: bool
) -> Response:
    """Set the session cookie and go on (to the password change or the enrolment first)."""
    assert result.token is not None and result.account is not None
    account = result.account
    where = target
    if account.role in settings.totp_required_roles and not with_code:
        where = "/totp"  # signed in with the password alone: a role that needs two enrols now
    if account.must_change_password:
        where = "/password"
    response = RedirectResponse(where, status_code=303)
    set_session_cookie(response, settings, result.token, result.expires_in)
    return response


@router.post("/login")
async def login_submit(
    request: Request,
    csrf: Csrf = "",
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Check the credentials, then ask for the code or set the session cookie and go on."""
    settings = settings_of(request)
    target = safe_next(next_path)
    username = username.strip()
    page = frame(request, await tree_of(request))

    def refuse(status: int, error: str) -> Response:
        return _login_page(request, page, status, error, username[:MAX_USERNAME], target)

    # Before the credentials are looked at: a forged post is no login attempt, so it neither
    # counts towards the lockout nor writes an audit row; nor does it prefill the username.
    if not LOGIN_TOKEN.valid(request, csrf):
        return _login_page(request, page, 403, EXPIRED, "", target)
    if not username or not password:
        return refuse(400, "请输入用户名和密码。")
    if len(username) > MAX_USERNAME or len(password) > MAX_PASSWORD:
        return refuse(401, "用户名或密码错误。")
    # The unit of work commits on a refused login too: the audit row and lockout count persist.
    async with unit_of_work(sessionmaker_of(request)) as session:
        result = await service.login(
            session, settings, username, password, client_ip(request), now_of(request)
        )
    if result.outcome is service.LoginOutcome.CODE_REQUIRED:
        assert result.token is not None
        return _login_page(request, page, 200, None, username, target, result.token)
    if result.outcome is not service.LoginOutcome.OK:
        return _refused(request, page, result, settings, username[:MAX_USERNAME], target)
    return _signed_in(result, settings, target, with_code=False)


def _refused(
    request: Request,
    page: Frame,
    result: service.LoginResult,
    settings: Settings,
    username: str,
    target: str,
    challenge: str = "",
) -> Response:
    wrong = "验证码错误。" if challenge else "用户名或密码错误。"
    status, text = refusal_text(result, settings.login_lockout_minutes, wrong)
    if result.locked_for is None:
        return _login_page(request, page, status, text, username, target, challenge)
    # A lock ends the sign-in: the form goes back to the password step.
    seconds = math.ceil(result.locked_for.total_seconds())
    return _login_page(request, page, status, text, username, target, "", seconds)


@router.post("/login/code")
async def login_code_submit(
    request: Request,
    csrf: Csrf = "",
    username: Annotated[str, Form()] = "",
    challenge: Annotated[str, Form()] = "",
    code: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """Step 2: the authenticator's code (or a recovery code) for the challenge of step 1."""
    settings = settings_of(request)
    target = safe_next(next_path)
    username = username.strip()[:MAX_USERNAME]
    page = frame(request, await tree_of(request))
    if not LOGIN_TOKEN.valid(request, csrf):
        return _login_page(request, page, 403, EXPIRED, "", target)
    if not challenge or not code or len(challenge) > 200 or len(code) > 64:
        return _login_page(request, page, 400, "请输入验证码。", username, target, challenge)
    async with unit_of_work(sessionmaker_of(request)) as session:
        result = await service.login_code(
            session, settings, challenge, code, client_ip(request), now_of(request)
        )
    if result.outcome is service.LoginOutcome.EXPIRED:
        return _login_page(request, page, 401, "登录已超时，请重新输入密码。", username, target)
    if result.outcome is not service.LoginOutcome.OK:
        return _refused(request, page, result, settings, username, target, challenge)
    return _signed_in(result, settings, target, with_code=True)


@router.post("/logout")
async def logout(request: Request, csrf: Csrf = "") -> Response:
    """End the session: revoke its token, clear the cookie, back to the login form."""
    principal = await portal_principal(request)
    if principal is not None:
        if not csrf_valid(request, csrf):
            return await _csrf_refused(request, principal)
        async with unit_of_work(sessionmaker_of(request)) as session:
            await service.logout(session, principal, client_ip(request))
        request.app.state.principal_cache.forget_account(principal.account_id)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.get("/password")
async def password_form(request: Request) -> Response:
    """Show the form to change one's own password."""
    principal = await portal_principal(request)
    if principal is None:
        return to_login(request)
    return _password_page(request, principal, await tree_of(request), [], 200)


def _password_page(
    request: Request, principal: Principal, tree: OrgTree, errors: list[str], status: int
) -> Response:
    context = {
        "errors": errors,
        "rules": PASSWORD_RULES,
        "forced": principal.must_change_password,
    }
    return render("password.html", frame(request, tree, principal), context, status=status)


@router.post("/password")
async def password_submit(
    request: Request,
    csrf: Csrf = "",
    old_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
) -> Response:
    """Change one's own password; policy errors are shown in Chinese."""
    principal = await portal_principal(request)
    if principal is None:
        return to_login(request)
    if not csrf_valid(request, csrf):
        return await _csrf_refused(request, principal)
    tree = await tree_of(request)
    if not old_password or not new_password:
        return _password_page(request, principal, tree, ["请填写当前密码和新密码。"], 400)
    if new_password != confirm_password:
        return _password_page(request, principal, tree, ["两次输入的新密码不一致。"], 400)
    if len(old_password) > MAX_PASSWORD or len(new_password) > MAX_PASSWORD:
        return _password_page(request, principal, tree, [TOO_LONG], 422)
    refused: ProblemError | None = None
    # Caught inside the unit of work so that a refused attempt's audit row is committed.
    async with unit_of_work(sessionmaker_of(request)) as session:
        try:
            await service.change_password(
                session, principal, old_password, new_password, client_ip(request)
            )
        except ProblemError as exc:
            refused = exc
    if refused is not None:
        return _password_page(request, principal, tree, _password_errors(refused), refused.status)
    request.app.state.principal_cache.forget_account(principal.account_id)
    return RedirectResponse("/?notice=password-changed", status_code=303)


def _password_errors(exc: ProblemError) -> list[str]:
    if exc.slug == "invalid-credentials":
        return ["当前密码不正确。"]
    messages = [str(e.get("msg", "")) for e in exc.errors or []]
    return [_POLICY_TEXTS.get(m, f"新密码不符合密码策略（{m}）") for m in messages] or [
        "新密码不符合密码策略。"
    ]
