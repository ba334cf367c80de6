"""Town pages in the portal: the view over the real-scene background, and opening it by link.

`/towns/{code}/page` shows the town's page to a logged-in reader in scope, or — with
`?token=` — to whoever holds a link the town issued (read-only: no navigation, no actions).
`/overview/{code}?token=` opens the town's whole overview the same way.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from cityops import __version__
from cityops.geo.layers import registry
from cityops.kit.db import unit_of_work
from cityops.kit.web import sessionmaker_of
from cityops.overview.schemas import OverviewRead
from cityops.portal.flash import clear_flash, take_flash
from cityops.portal.gate import to_login, tree_of
from cityops.portal.render import ERROR_TEXTS, frame, render
from cityops.portal.session import portal_principal
from cityops.portal.townpage_access import MAX_TOKEN, Viewer, link_headers, page_headers, viewer_of
from cityops.portal.townpage_view import part_src, runtime_of
from cityops.townpage.links import LinkRefused
from cityops.townpage.schemas import PageRead, Widget
from cityops.townpage.service import TownPageService, may_edit, overview_widgets

router = APIRouter(include_in_schema=False)
Token = Annotated[str | None, Query(max_length=MAX_TOKEN)]
EMBED_PREFIX = "/map/embed"


async def refused(request: Request, exc: LinkRefused, token: str | None) -> Response:
    """The 401/403/404 page of a refused view; a link's page may still sit in an iframe."""
    if exc.status == 401 and token is None:
        return to_login(request)
    title = ERROR_TEXTS.get(exc.status, ERROR_TEXTS[403])[0]
    if token is None:
        page = frame(request, await tree_of(request), await portal_principal(request))
        return render(
            "error.html",
            page,
            {"status": exc.status, "title": title, "message": exc.message},
            status=exc.status,
        )
    if exc.status in (401, 403):
        title = "链接无效或已过期" if exc.status == 401 else "链接不可用"
    context = {"status": exc.status, "title": title, "message": exc.message}
    page = frame(request, await tree_of(request))
    headers = link_headers(request)
    response = render("townpage/link_error.html", page, context, status=exc.status, headers=headers)
    return framable(response)


def framable(response: Response) -> Response:
    """A link view may sit in the city's iframe: its CSP frame-ancestors says by whom."""
    del response.headers["X-Frame-Options"]
    return response


async def load_page(request: Request, viewer: Viewer) -> PageRead:
    """The town's saved page (or its default) in a unit of work of its own."""
    async with unit_of_work(sessionmaker_of(request)) as session:
        svc = TownPageService(session)
        return await svc.read(viewer.principal, viewer.node, registry.names())


def widget_view(w: Widget, ov: OverviewRead, viewer: Viewer) -> dict[str, Any]:
    """What the template needs to draw one widget."""
    view: dict[str, Any] = {"w": w, "cls": grid_classes(w)}
    if w.kind == "part" and w.part is not None:
        view["part"] = ov.parts.get(w.part)
        view["src"] = part_src(ov.code, w.part, viewer)
    elif w.kind == "map":
        layers = ",".join(w.layers or [])
        style = f"/towns/{ov.code}/page/style.json?layers={layers}"
        if viewer.token:
            style += f"&token={viewer.token}"
        map_part = ov.parts.get("map")
        view["map"] = {"style": style, "bounds": map_part.data.get("bounds") if map_part else None}
    else:
        path = w.path or ""
        view["frame"] = path.startswith(EMBED_PREFIX) and viewer.token is None
    return view


def grid_classes(w: Widget) -> str:
    """The grid position and opacity of a widget as classes (the CSP forbids inline styles)."""
    return f"tp-x{w.x} tp-y{w.y} tp-w{w.w} tp-h{w.h} tp-o{w.options.opacity // 10}"


async def render_view(
    request: Request, viewer: Viewer, page: PageRead, widgets: list[Widget], mode: str
) -> Response:
    """The page with its widgets, for a session reader or a link."""
    wanted = {w.part for w in widgets if w.part} | {"map"}
    ov = await runtime_of(request).service.overview(viewer.principal, page.code, ",".join(wanted))
    base = f"/towns/{page.code}/page"
    config = {
        "code": page.code,
        "stream": f"{base}/stream{viewer.query}",
        "worker": f"/static/build/maplibre-gl-worker.mjs?v={__version__}",
        "link": viewer.token is not None,
        "panorama": page.background_kind == "panorama",
    }
    linked = viewer.token is not None
    page_frame = frame(request, await tree_of(request), None if linked else viewer.principal)
    context = {
        "page": page,
        "ov": ov,
        "mode": mode,
        "widgets": [widget_view(w, ov, viewer) for w in widgets],
        "background": f"{page.background_url}&token={viewer.token}"
        if linked and page.background_url
        else page.background_url,
        "linked": linked,
        "editable": not linked and may_edit(viewer.principal, page.code),
        "rows": max([w.y + w.h for w in widgets] or [8]),
        "config": config,
    }
    context["flash"] = None if linked else take_flash(request)
    response = render(
        "townpage/view.html", page_frame, context, headers=page_headers(viewer, request)
    )
    if linked:
        return framable(response)
    clear_flash(request, response)
    return response


@router.get("/towns/{code}/page")
async def town_page(request: Request, code: str, token: Token = None) -> Response:
    """A town's page over its real-scene background; with `?token=` opened by link."""
    try:
        viewer = await viewer_of(request, code, token)
    except LinkRefused as exc:
        return await refused(request, exc, token)
    if viewer.principal.must_change_password:
        return RedirectResponse("/password", status_code=303)
    if viewer.principal.must_enrol_totp:
        return RedirectResponse("/totp", status_code=303)
    page = await load_page(request, viewer)
    return await render_view(request, viewer, page, page.widgets, "page")


@router.get("/towns/{code}/overview")
async def town_overview_by_link(request: Request, code: str, token: Token = None) -> Response:
    """A town's whole overview (all its parts), read-only, for a session reader or a link."""
    try:
        viewer = await viewer_of(request, code, token)
    except LinkRefused as exc:
        return await refused(request, exc, token)
    page = await load_page(request, viewer)
    return await render_view(request, viewer, page, overview_widgets(), "overview")
