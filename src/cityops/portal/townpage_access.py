"""Who is looking at a town page: a logged-in reader in scope, or a link token for that town.

Link views (`?token=`) need no cookie and no header, so they work inside the city's or the
district's platform as an iframe: their responses allow framing by this origin and the origins
in `CITYOPS_MAP_FRAME_ANCESTORS`, and send no referrer (the token is in the URL).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from cityops.auth.principal import Principal
from cityops.geo.map.embed import allowed_origins
from cityops.kit.db import unit_of_work
from cityops.kit.errors import ProblemError
from cityops.kit.web import sessionmaker_of
from cityops.org.tree import OrgNode
from cityops.portal.gate import tree_of
from cityops.portal.render import SECURITY_HEADERS
from cityops.portal.session import portal_principal
from cityops.townpage.links import LinkRefused, resolve
from cityops.townpage.service import town_of

#: The longest `?token=` accepted (real ones have 47 characters).
MAX_TOKEN = 100


@dataclass(frozen=True, slots=True)
class Viewer:
    """The reader of a town page and the town; `token` is set for a link view."""

    principal: Principal
    node: OrgNode
    token: str | None

    @property
    def query(self) -> str:
        """The query string that carries the token on the page's own requests."""
        return f"?token={self.token}" if self.token else ""


def map_csp(base: str) -> str:
    """A page CSP that also lets MapLibre's worker and images come from blob: URLs."""
    return (
        base.replace("img-src 'self' data:", "img-src 'self' data: blob:")
        + "; worker-src 'self' blob:"
    )


def link_headers(request: Request) -> dict[str, str]:
    """Headers of a link view: framable by the configured platforms, never a referrer."""
    origins = allowed_origins(request)
    ancestors = " ".join(["'self'", *origins[1:]])
    csp = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "frame-ancestors 'none'", f"frame-ancestors {ancestors}"
    )
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": map_csp(csp)}
    headers.pop("X-Frame-Options")
    headers["Referrer-Policy"] = "no-referrer"
    return headers


def page_headers(viewer: Viewer, request: Request) -> dict[str, str]:
    """Headers of a town page for its viewer."""
    if viewer.token is not None:
        return link_headers(request)
    csp = map_csp(SECURITY_HEADERS["Content-Security-Policy"])
    return {**SECURITY_HEADERS, "Content-Security-Policy": csp}


async def viewer_of(request: Request, code: str, token: str | None) -> Viewer:
    """The viewer of a town's page; LinkRefused (401/403/404) when there is none."""
    tree = await tree_of(request)
    if token is not None:
        if len(token) > MAX_TOKEN:
            raise LinkRefused(401, "链接令牌格式不正确。")
        async with unit_of_work(sessionmaker_of(request)) as session:
            principal = await resolve(session, code, token)
    else:
        found = await portal_principal(request)
        if found is None:
            raise LinkRefused(401, "请先登录，或使用街镇签发的链接打开。")
        principal = found
    try:
        node = town_of(tree, principal, code)
    except ProblemError as exc:
        raise LinkRefused(exc.status, _refusal(exc, code)) from exc
    return Viewer(principal, node, token)


def _refusal(exc: ProblemError, code: str) -> str:
    if exc.status == 404:
        return f"单位代码 {code[:32]} 不是街镇，没有街镇页面。"
    return "该街镇不在您的数据范围内，无权查看其页面。"
