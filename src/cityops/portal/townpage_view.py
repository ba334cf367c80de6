"""What a town page loads after the page itself: parts, live stream, background, map.

Each endpoint takes the page's viewer — the portal session, or the link's `?token=` — and
serves only that town: the token opens these paths and nothing else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.responses import Response

from cityops.geo.layers import BBox
from cityops.geo.map.state import chosen_layers, map_state, readable_layer
from cityops.geo.map.style import build_style
from cityops.geo.map.tiles import MEDIA_TYPE, TileError, TileKey, check_tile, query_box, render_tile
from cityops.kit.db import unit_of_work
from cityops.kit.errors import ProblemError
from cityops.kit.web import MAX_INT, sessionmaker_of
from cityops.media.storage import PhotoStore, Variant
from cityops.overview.labels import PartKey
from cityops.overview.live import OverviewRuntime, StreamsFull, Watcher, stream
from cityops.overview.service import live_parts
from cityops.portal.gate import settings_of
from cityops.portal.render import frame, render
from cityops.portal.townpage_access import MAX_TOKEN, Viewer, viewer_of
from cityops.townpage.links import LinkRefused
from cityops.townpage.service import TownPageService

router = APIRouter(include_in_schema=False)
BASE = "/towns/{code}/page"
Token = Annotated[str | None, Query(max_length=MAX_TOKEN)]
TileNumber = Annotated[int, Path(ge=-MAX_INT, le=MAX_INT)]


def runtime_of(request: Request) -> OverviewRuntime:
    """The process's overview state."""
    runtime: OverviewRuntime = request.app.state.overview
    return runtime


async def _viewer(request: Request, code: str, token: str | None) -> Viewer | Response:
    try:
        return await viewer_of(request, code, token)
    except LinkRefused as exc:
        return Response(exc.message, status_code=exc.status, media_type="text/plain; charset=utf-8")


@router.get(BASE + "/parts/{key}")
async def page_part(request: Request, code: str, key: str, token: Token = None) -> Response:
    """One overview part of the town as an HTML fragment (swapped in on a live notice)."""
    viewer = await _viewer(request, code, token)
    if isinstance(viewer, Response):
        return viewer
    if key not in {p.value for p in PartKey}:
        return Response("未知的部分", status_code=404, media_type="text/plain; charset=utf-8")
    try:
        ov = await runtime_of(request).service.overview(viewer.principal, code, key)
    except ProblemError as exc:
        return Response(status_code=exc.status)
    context = {"ov": ov, "part": ov.parts[key], "src": part_src(code, key, viewer)}
    return render("townpage/fragment.html", frame(request, None), context)


def part_src(code: str, key: str, viewer: Viewer) -> str:
    """Where a part widget refreshes itself from."""
    return f"/towns/{code}/page/parts/{key}{viewer.query}"


async def _watcher(request: Request, code: str, token: Token = None) -> AsyncIterator[Watched]:
    """The viewer's registered stream of the town; refusals are problem answers, not streams."""
    try:
        viewer = await viewer_of(request, code, token)
    except LinkRefused as exc:
        raise ProblemError(
            exc.status, "unauthenticated" if exc.status == 401 else "forbidden", exc.message
        ) from exc
    runtime = runtime_of(request)
    try:
        watcher = runtime.broker.watch(code, live_parts("town"))
    except StreamsFull:
        raise ProblemError(
            503, "unavailable", "too many open streams", headers={"Retry-After": "30"}
        ) from None
    try:
        yield Watched(viewer, watcher)
    finally:
        runtime.broker.forget(watcher)


@dataclass(frozen=True, slots=True)
class Watched:
    """A stream's viewer and its registration."""

    viewer: Viewer
    watcher: Watcher


@router.get(BASE + "/stream", response_class=EventSourceResponse)
async def page_stream(
    request: Request, watched: Annotated[Watched, Depends(_watcher)]
) -> AsyncIterator[ServerSentEvent]:
    """The town's live feed (the overview's SSE stream) for the page's viewer."""
    viewer = watched.viewer

    async def still_allowed() -> bool:
        try:
            await viewer_of(request, viewer.node.code, viewer.token)
        except LinkRefused:
            return False
        return True

    async for event in stream(runtime_of(request), watched.watcher, still_allowed):
        yield event


@router.get(BASE + "/background")
async def page_background(request: Request, code: str, token: Token = None) -> Response:
    """The page's real-scene (实景) photo, for whoever may see the page."""
    viewer = await _viewer(request, code, token)
    if isinstance(viewer, Response):
        return viewer
    async with unit_of_work(sessionmaker_of(request)) as session:
        row = await TownPageService(session).background(code, viewer.principal.scope)
    if row is None:
        return Response(
            "该页面没有背景图。", status_code=404, media_type="text/plain; charset=utf-8"
        )
    path = PhotoStore(settings_of(request).media_dir).path(row.sha256, Variant.PHOTO)
    if not path.is_file():
        return Response("背景图文件缺失。", status_code=404, media_type="text/plain; charset=utf-8")
    headers = {"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"}
    return FileResponse(path, media_type=row.content_type, headers=headers)


@router.get(BASE + "/style.json")
async def page_style(
    request: Request,
    code: str,
    layers: Annotated[str, Query(max_length=300)],
    token: Token = None,
) -> Response:
    """A MapLibre style of the chosen layers whose tiles come through this page's tile path."""
    viewer = await _viewer(request, code, token)
    if isinstance(viewer, Response):
        return viewer
    try:
        chosen, _ = chosen_layers(layers, viewer.principal)
    except ProblemError as exc:
        return Response(exc.detail or "", status_code=exc.status)
    origin = str(request.base_url).rstrip("/")
    document = build_style(
        origin, chosen, viewer.principal, drawings=False, bounds=None, center=None
    )
    for name, source in document["sources"].items():
        source["tiles"] = [
            f"{origin}/towns/{code}/page/tiles/{name}/{{z}}/{{x}}/{{y}}.mvt{viewer.query}"
        ]
    headers = {"Cache-Control": "private, no-cache"}
    return Response(orjson.dumps(document), media_type="application/json", headers=headers)


@router.get(BASE + "/tiles/{layer}/{z}/{x}/{y}.mvt")
async def page_tile(
    request: Request,
    code: str,
    layer: Annotated[str, Path(max_length=32)],
    z: TileNumber,
    x: TileNumber,
    y: TileNumber,
    token: Token = None,
) -> Response:
    """One vector tile of a layer, cut to the viewer's scope (the town, for a link)."""
    viewer = await _viewer(request, code, token)
    if isinstance(viewer, Response):
        return viewer
    try:
        chosen = readable_layer(layer, viewer.principal)
        check_tile(z, x, y)
    except (ProblemError, TileError) as exc:
        return Response(str(exc), status_code=getattr(exc, "status", 422))
    if not chosen.min_zoom <= z <= chosen.max_zoom:
        return Response(status_code=404)
    state = map_state(request)
    version = await chosen.version(state.context)
    key = TileKey(layer, z, x, y, version, chosen.scope_key(viewer.principal))
    data = state.tiles.get(key)
    if data is None:
        box = BBox.from_mercator(*query_box(z, x, y))
        batch = await chosen.features(state.context, box, viewer.principal, version)
        data = render_tile(chosen.name, chosen.geometry, batch, z, x, y)
        state.tiles.put(key, data)
    headers = {"Cache-Control": "private, no-cache"}
    return Response(data, media_type=MEDIA_TYPE, headers=headers)
