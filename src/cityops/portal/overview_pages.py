"""Portal pages of the overview (总览): the caller's own level, any area in scope, and the big screen.

The page is rendered whole on the server; each part is also served alone
(`/overview/{code}/parts/{key}`), so the page's script swaps in the parts a live notice names
(HTMX) instead of reloading. The big screen (`/screen/{code}`) is the same parts on a fixed
1920×1080 canvas scaled to the display.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cityops import __version__
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.kit.errors import ProblemError
from cityops.org.schemas import CODE_PATTERN
from cityops.org.tree import OrgTree
from cityops.overview.context import KINDS
from cityops.overview.labels import PartKey
from cityops.overview.live import OverviewRuntime
from cityops.overview.schemas import OverviewRead
from cityops.portal.gate import gate, tree_of
from cityops.portal.render import SECURITY_HEADERS, Frame, error_page, frame, render
from cityops.portal.townpage_pages import town_overview_by_link

router = APIRouter(include_in_schema=False)

#: Pages with a map: MapLibre's worker and its images come from this origin (and blob: URLs).
MAP_PAGE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"].replace(
        "img-src 'self' data:", "img-src 'self' data: blob:"
    )
    + "; worker-src 'self' blob:",
}
_CODE = re.compile(CODE_PATTERN)


def _runtime(request: Request) -> OverviewRuntime:
    runtime: OverviewRuntime = request.app.state.overview
    return runtime


def home_area(tree: OrgTree, principal: Principal) -> str | None:
    """The area a caller's overview opens on: the broadest unit of its scope that has one."""
    candidates = sorted(
        (p for p in principal.scope.prefixes if (n := tree.get(p)) and n.level in KINDS),
        key=lambda code: (len(code), code),
    )
    return candidates[0] if candidates else None


async def _load(
    request: Request, principal: Principal, code: str, parts: str | None = None
) -> OverviewRead | Response:
    """The overview, or the error page that says why not."""
    page = frame(request, await tree_of(request), principal)
    if not principal.can(Perm.ORG_READ):
        return error_page(page, 403, "您的角色不查看总览与业务数据。")
    if not _CODE.fullmatch(code):
        return error_page(page, 404, f"单位代码 {code[:32]} 不存在。")
    try:
        return await _runtime(request).service.overview(principal, code, parts)
    except ProblemError as exc:
        return error_page(page, exc.status, _message(exc, await tree_of(request), code))


def _message(exc: ProblemError, tree: OrgTree, code: str) -> str:
    node = tree.get(code)
    if exc.slug == "out-of-scope" and node is not None:
        return f"{node.name}（{node.code}）不在您的数据范围内，无权查看其总览。"
    if node is not None and exc.status == 404:
        return f"{node.name}是多格合一综合网格，没有单独的总览，请查看所属街镇的总览。"
    return f"单位代码 {code[:32]} 不存在。" if exc.status == 404 else (exc.detail or "请求有误。")


def _context(request: Request, overview: OverviewRead, screen: bool) -> dict[str, Any]:
    code = overview.code
    command = PartKey.COMMAND.value in overview.parts
    return {
        "ov": overview,
        "screen": screen,
        "command": command,
        "config": {
            "code": code,
            "stream": f"/api/v1/overview/{code}/stream",
            "part": f"/overview/{code}/parts/",
            "style": "/api/v1/map/style.json",
            "worker": f"/static/build/maplibre-gl-worker.mjs?v={__version__}",
            "screen": screen,
        },
    }


@router.get("/overview")
async def own_overview(request: Request) -> Response:
    """The caller's own level: a district officer the district, a town operator the town."""
    return await _own(request, "/overview")


@router.get("/screen")
async def own_screen(request: Request) -> Response:
    """The big screen of the caller's own level."""
    return await _own(request, "/screen")


async def _own(request: Request, base: str) -> Response:
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    tree = await tree_of(request)
    code = home_area(tree, principal)
    if code is None or not principal.can(Perm.ORG_READ):
        return error_page(frame(request, tree, principal), 403, "您的账号没有可查看总览的区域。")
    return RedirectResponse(f"{base}/{code}", status_code=303)


@router.get("/overview/{code}")
async def overview_page(request: Request, code: str, token: str | None = None) -> Response:
    """The overview of an area: nine parts, live; a town's also by its link (`?token=`)."""
    if token is not None:
        return await town_overview_by_link(request, code, token[:200])
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    loaded = await _load(request, principal, code)
    if isinstance(loaded, Response):
        return loaded
    page: Frame = frame(request, await tree_of(request), principal)
    context = _context(request, loaded, screen=False)
    return render("overview/page.html", page, context, headers=MAP_PAGE_HEADERS)


@router.get("/screen/{code}")
async def screen_page(request: Request, code: str) -> Response:
    """The big screen of an area for the operations hall: 1920×1080, scaled, live."""
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return principal
    loaded = await _load(request, principal, code)
    if isinstance(loaded, Response):
        return loaded
    page = frame(request, await tree_of(request), principal)
    context = _context(request, loaded, screen=True)
    return render("overview/screen.html", page, context, headers=MAP_PAGE_HEADERS)


@router.get("/overview/{code}/parts/{key}")
async def overview_part(request: Request, code: str, key: str, screen: bool = False) -> Response:
    """One part as an HTML fragment (swapped into the page when a live notice names it)."""
    principal = await gate(request)
    if not isinstance(principal, Principal):
        return Response(status_code=401)
    if key not in {p.value for p in PartKey}:
        return Response("未知的部分", status_code=404, media_type="text/plain; charset=utf-8")
    loaded = await _load(request, principal, code, key)
    if isinstance(loaded, Response):
        return Response(status_code=loaded.status_code)
    page = frame(request, await tree_of(request), principal)
    context = {**_context(request, loaded, screen=screen), "part": loaded.parts[key]}
    return render("overview/fragment.html", page, context)
