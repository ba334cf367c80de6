"""Templates, the page frame every portal page shares, and HTML error pages."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response

from cityops import __version__
from cityops.auth.principal import Principal
from cityops.auth.roles import ROLE_LABELS, Perm, Role
from cityops.kit.errors import ProblemError
from cityops.kit.module import Module
from cityops.kit.workcal import SHANGHAI
from cityops.org.tree import OrgTree
from cityops.portal.session import csrf_token, session_token

log = logging.getLogger(__name__)

PORTAL_DIR = Path(__file__).parent
TEMPLATE_DIR = PORTAL_DIR / "templates"
STATIC_DIR = PORTAL_DIR / "static"

#: Paths whose errors stay problem+json whatever the client accepts.
_MACHINE_PREFIXES = ("/api/", "/open311/", "/problems/", "/static/")
_MACHINE_PATHS = frozenset({"/openapi.json", "/healthz", "/readyz", "/docs", "/redoc"})

#: Sent with every portal page: nothing but our own origin, never framed, never cached.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

ERROR_TEXTS: dict[int, tuple[str, str]] = {
    400: ("请求有误", "提交的内容无法处理，请返回后重试。"),
    401: ("请先登录", "您尚未登录或登录已过期。"),
    403: ("无权访问", "该页面或数据不在您的权限范围内。"),
    404: ("页面不存在", "您访问的页面或单位不存在，请检查地址。"),
    405: ("不支持的操作", "该页面不支持这种访问方式。"),
    413: ("提交内容过大", "提交的内容超过了系统允许的大小。"),
    422: ("提交内容有误", "提交的内容不完整或格式不正确。"),
    500: ("系统错误", "系统处理请求时出错，已记录日志，请稍后再试或联系管理员。"),
}

_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def format_number(value: float | int | None, digits: int = 0) -> str:
    """A figure with thousands separators ("—" when unknown)."""
    if value is None:
        return "—"
    if digits == 0 and float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits or 2}f}"


def format_percent(value: float | None) -> str:
    """A share as a percentage with one decimal ("—" when unknown)."""
    return "—" if value is None else f"{value * 100:.1f}%"


def format_beijing(value: datetime | None) -> str:
    """An instant as Beijing wall-clock time, the time every page shows ("" when unknown)."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


_env.filters["num"] = format_number
_env.filters["pct"] = format_percent
_env.filters["beijing"] = format_beijing


@dataclass(frozen=True, slots=True)
class NavItem:
    """One entry of the navigation bar."""

    label: str
    href: str
    active: bool = False


@dataclass(frozen=True, slots=True)
class Viewer:
    """The logged-in account as the header shows it."""

    username: str
    display_name: str
    role_label: str
    unit_name: str
    csrf: str


@dataclass(frozen=True, slots=True)
class Frame:
    """What every page's header, navigation and footer need."""

    centre: str
    district: str
    version: str
    viewer: Viewer | None = None
    nav: list[NavItem] = field(default_factory=list)


def role_label(role: str) -> str:
    """The Chinese name of a role."""
    try:
        return ROLE_LABELS[Role(role)]
    except ValueError:
        return role


def district_name(request: Request, tree: OrgTree | None) -> str:
    """The district's name from the root of the tree; empty before the district is seeded."""
    code: str = request.app.state.settings.district_code
    root = tree.get(code) if tree is not None else None
    return root.name if root is not None else ""


def navigation(principal: Principal, path: str, modules: Sequence[Module]) -> list[NavItem]:
    """The navigation bar for a role: the enabled modules' entries the caller may open."""
    entries = sorted((e for m in modules for e in m.nav), key=lambda e: e.order)
    return [
        NavItem(
            e.label,
            e.href,
            path == e.href or bool(e.active_prefix and path.startswith(e.active_prefix)),
        )
        for e in entries
        if e.permission is None or principal.can(Perm(e.permission))
    ]


def frame(request: Request, tree: OrgTree | None, principal: Principal | None = None) -> Frame:
    """The shared frame of a page for the caller (anonymous when principal is None)."""
    district = district_name(request, tree)
    centre = f"{district}城市运行管理中心"
    if principal is None:
        return Frame(centre, district, __version__)
    unit = tree.get(principal.org_code) if tree is not None else None
    token = session_token(request) or ""
    viewer = Viewer(
        username=principal.username,
        display_name=principal.display_name or principal.username,
        role_label=role_label(principal.role),
        unit_name=unit.name if unit is not None else principal.org_code,
        csrf=csrf_token(token),
    )
    return Frame(
        centre,
        district,
        __version__,
        viewer,
        navigation(principal, request.url.path, request.app.state.modules),
    )


def render(
    template: str,
    page: Frame,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a template inside the frame with the portal's security headers."""
    html = _env.get_template(template).render(frame=page, **(context or {}))
    response = HTMLResponse(html, status_code=status, headers=dict(SECURITY_HEADERS))
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def error_page(page: Frame, status: int, message: str | None = None) -> HTMLResponse:
    """An error page in Chinese for a status code."""
    title, text = ERROR_TEXTS.get(status, ERROR_TEXTS[500 if status >= 500 else 400])
    context = {"status": status, "title": title, "message": message or text}
    return render("error.html", page, context, status=status)


def wants_html(request: Request) -> bool:
    """Whether an error should be a page: a portal path asked for by anything but a JSON client.

    Browsers send text/html; curl, wget and a plain fetch send `*/*` or nothing — a person is
    looking at the answer, so it is the Chinese page. A client naming JSON (and not HTML) or
    another specific type (an event stream) keeps problem+json.
    """
    path = request.url.path
    if path.startswith(_MACHINE_PREFIXES) or path in _MACHINE_PATHS:
        return False
    accept = request.headers.get("accept", "").lower()
    if not accept.strip() or "text/html" in accept:
        return True
    if "json" in accept:
        return False
    return "*/*" in accept


Handler = Callable[[Request, Exception], Awaitable[Response]]
AnyHandler = Callable[[Request, Any], Response | Awaitable[Response]]


def _status_of(exc: Exception) -> int:
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code
    if isinstance(exc, ProblemError):
        return exc.status
    if isinstance(exc, RequestValidationError):
        return 422
    return 500


def _query_message(exc: Exception) -> str | None:
    """For a bad query string: which parameters, in Chinese (never the validator's English)."""
    if not isinstance(exc, RequestValidationError):
        return None
    names = [
        str(error["loc"][-1])[:32]
        for error in exc.errors()
        if len(error.get("loc", ())) >= 2 and error["loc"][0] == "query"
    ]
    if not names:
        return None
    listed = "、".join(dict.fromkeys(names))
    return f"网址中的参数 {listed} 的值无法使用（格式不对或超出范围），请检查链接后重试。"


async def _tree_or_none(request: Request) -> OrgTree | None:
    try:
        tree: OrgTree = await request.app.state.org_tree.current()
    except Exception:  # an error page must render even when the database does not answer
        return None
    return tree


def _html_or(original: AnyHandler | None) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if not wants_html(request) and original is not None:
            answer = original(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        status = _status_of(exc)
        if status >= 500:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
        page = frame(request, await _tree_or_none(request))
        headers = getattr(exc, "headers", None) if status in (405, 413) else None
        response = error_page(page, status, _query_message(exc))
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response

    return handle


def install_html_errors(app: FastAPI) -> None:
    """Answer browsers on portal paths with HTML error pages; everything else keeps problem+json."""
    for exc_class in (StarletteHTTPException, ProblemError, RequestValidationError, Exception):
        original: AnyHandler | None = app.exception_handlers.get(exc_class)
        app.add_exception_handler(exc_class, _html_or(original))
