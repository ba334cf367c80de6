"""HTTP endpoints of the map platform under /api/v1/map: layers, tiles, features, style, drawings.

Tiles are cached in-process under (layer, z, x, y, data version, scope key); the ETag is a hash
of that key, so a revalidation (If-None-Match) is answered 304 without cutting the tile, and
`Cache-Control: private, no-cache` makes browsers revalidate rather than trust a stale copy.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
import shapely
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from shapely.geometry import mapping

from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.geo import crs as crs_module
from cityops.geo.drawings import service as drawing_service
from cityops.geo.layers import BBox, Layer, LayerContext, registry
from cityops.geo.map.embed import router as embed_router
from cityops.geo.map.schemas import (
    DrawingCollection,
    DrawingCreate,
    DrawingFeature,
    DrawingUpdate,
    LayerInfo,
)
from cityops.geo.map.state import (
    chosen_layers,
    district_bounds,
    map_state,
    problem,
    readable_layer,
    resolved_crs,
)
from cityops.geo.map.style import API, build_style
from cityops.geo.map.tiles import (
    MEDIA_TYPE,
    TileError,
    TileKey,
    check_tile,
    etag_matches,
    query_box,
    render_tile,
)
from cityops.kit.web import MAX_INT, ClientIp, DbSession

api = APIRouter(prefix=API, tags=["map"])
Reader = Annotated[Principal, Depends(require(Perm.ORG_READ))]
LayerName = Annotated[str, Path(max_length=64, description="A registered layer, e.g. units")]
CrsQuery = Annotated[str, Query(max_length=64, description="Output CRS, e.g. wgs84, gcj02")]
GEOJSON = "application/geo+json"
#: Tiles with more candidate features than this are cut in a worker thread.
_THREAD_THRESHOLD = 400
_TILE_HEADERS = {"Cache-Control": "private, no-cache", "Vary": "Authorization, Cookie"}


def parse_bbox(text: str, crs: str) -> BBox:
    """A `west,south,east,north` box in `crs`, checked and converted to WGS84 and Mercator."""
    loc = ["query", "bbox"]
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(map(_finite, values)):
        raise problem(422, loc, "bbox must be four finite numbers: west,south,east,north", "bbox")
    west, south, east, north = values
    if crs not in (crs_module.CRS.WGS84, crs_module.CRS.CGCS2000):
        xs, ys = crs_module.transform_array([west, east], [south, north], crs, crs_module.CRS.WGS84)
        west, east, south, north = float(xs[0]), float(xs[1]), float(ys[0]), float(ys[1])
    if not (-180 <= west < east <= 180 and -85.06 <= south < north <= 85.06):
        raise problem(
            422,
            loc,
            "bbox is out of range: need west < east within ±180°, south < north within ±85.06°",
            "bbox",
        )
    return BBox.from_wgs84(west, south, east, north)


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")


@api.get("/layers", response_model=list[LayerInfo], summary="Map layers")
async def list_layers(principal: Reader) -> list[LayerInfo]:
    """The registered layers the caller may read, in drawing order."""
    return [
        LayerInfo(
            name=layer.name,
            title=layer.title,
            geometry=layer.geometry.value,
            min_zoom=layer.min_zoom,
            max_zoom=layer.max_zoom,
            labels=layer.labels,
            tiles=f"{API}/tiles/{layer.name}/{{z}}/{{x}}/{{y}}.mvt",
            features=f"{API}/features/{layer.name}",
        )
        for layer in registry
        if layer.visible_to(principal)
    ]


@api.get(
    "/tiles/{layer}/{z}/{x}/{y}.mvt",
    summary="Vector tile",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}}, 304: {"description": "Not modified"}},
)
async def tile(
    request: Request,
    principal: Reader,
    layer: LayerName,
    z: Annotated[int, Path(ge=-MAX_INT, le=MAX_INT)],
    x: Annotated[int, Path(ge=-MAX_INT, le=MAX_INT)],
    y: Annotated[int, Path(ge=-MAX_INT, le=MAX_INT)],
) -> Response:
    """One Mapbox Vector Tile of a layer, cut to the caller's scope."""
    chosen = readable_layer(layer, principal)
    try:
        check_tile(z, x, y)
    except TileError as exc:
        raise problem(422, ["path", exc.field], str(exc), "tile") from exc
    if not chosen.min_zoom <= z <= chosen.max_zoom:
        message = f"layer {layer} has tiles at zooms {chosen.min_zoom}..{chosen.max_zoom} only"
        raise problem(404, ["path", "z"], message, "zoom")
    state = map_state(request)
    version = await chosen.version(state.context)
    key = TileKey(layer, z, x, y, version, chosen.scope_key(principal))
    headers = {**_TILE_HEADERS, "ETag": key.etag()}
    if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    data = state.tiles.get(key)
    headers["X-Tile-Cache"] = "hit" if data is not None else "miss"
    if data is None:
        data = await _render(chosen, state.context, principal, version, z, x, y)
        state.tiles.put(key, data)
    return Response(data, media_type=MEDIA_TYPE, headers=headers)


async def _render(
    layer: Layer, ctx: LayerContext, principal: Principal, version: str, z: int, x: int, y: int
) -> bytes:
    """Ask the layer for the tile's features and encode them."""
    batch = await layer.features(ctx, BBox.from_mercator(*query_box(z, x, y)), principal, version)
    if len(batch) > _THREAD_THRESHOLD:
        return await asyncio.to_thread(render_tile, layer.name, layer.geometry, batch, z, x, y)
    return render_tile(layer.name, layer.geometry, batch, z, x, y)


@api.get(
    "/features/{layer}",
    summary="GeoJSON features of a layer",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def features(
    request: Request,
    principal: Reader,
    layer: LayerName,
    bbox: Annotated[str | None, Query(max_length=200, description="west,south,east,north")] = None,
    crs: CrsQuery = "wgs84",
    limit: Annotated[int, Query(ge=1, le=20_000)] = 5000,
) -> Response:
    """The layer's features in the box (in `crs`, both for the box and the output), scoped."""
    chosen = readable_layer(layer, principal)
    target = resolved_crs(crs, ["query", "crs"])
    box = parse_bbox(bbox, target) if bbox is not None else None
    state = map_state(request)
    version = await chosen.version(state.context)
    batch = await chosen.features(state.context, box, principal, version)
    if box is not None:
        shapely.prepare(query := shapely.box(*box.wgs84))
        inside = shapely.intersects(query, batch.wgs84)
        keep = [i for i, hit in enumerate(inside.tolist()) if hit]
    else:
        keep = list(range(len(batch)))
    truncated = len(keep) > limit
    items = [_feature(batch.wgs84[i], batch.properties[i], target) for i in keep[:limit]]
    body = {
        "type": "FeatureCollection",
        "layer": layer,
        "crs": target,
        "version": version,
        "truncated": truncated,
        "approximate": any(f["properties"].get("approximate") for f in items),
        "features": items,
    }
    return Response(
        orjson.dumps(body), media_type=GEOJSON, headers={"Cache-Control": "private, no-cache"}
    )


def _feature(geometry: Any, properties: Any, crs: str) -> dict[str, Any]:
    shaped = dict(mapping(geometry))
    if crs not in (crs_module.CRS.WGS84, crs_module.CRS.CGCS2000):
        shaped = crs_module.transform_geojson(shaped, crs_module.CRS.WGS84, crs)
    return {"type": "Feature", "geometry": shaped, "properties": dict(properties)}


@api.get("/style.json", summary="MapLibre style")
async def style(
    request: Request,
    principal: Reader,
    layers: Annotated[str | None, Query(max_length=500, description="Comma list of layers")] = None,
) -> Response:
    """A MapLibre style drawing the platform's own tiles, for the layers asked for."""
    chosen, with_drawings = chosen_layers(layers, principal)
    origin = str(request.base_url).rstrip("/")
    bounds = await district_bounds(map_state(request).context)
    center = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2] if bounds else None
    document = build_style(
        origin, chosen, principal, drawings=with_drawings, bounds=bounds, center=center
    )
    return Response(
        orjson.dumps(document),
        media_type="application/json",
        headers={"Cache-Control": "private, no-cache"},
    )


@api.get("/drawings", response_model=DrawingCollection, summary="User drawings")
async def list_drawings(
    session: DbSession,
    principal: Reader,
    bbox: Annotated[str | None, Query(max_length=200, description="west,south,east,north")] = None,
    crs: CrsQuery = "wgs84",
) -> DrawingCollection:
    """Your drawings and the shared ones of units in your scope, as a FeatureCollection."""
    target = resolved_crs(crs, ["query", "crs"])
    box = parse_bbox(bbox, target).wgs84 if bbox is not None else None
    rows = await drawing_service.list_drawings(session, principal, box)
    items = [drawing_service.to_feature(d, owner, principal, target) for d, owner in rows]
    return DrawingCollection(crs_name=target, features=items)


DrawingId = Annotated[int, Path(ge=1, le=MAX_INT)]


@api.post("/drawings", response_model=DrawingFeature, status_code=201, summary="Save a drawing")
async def create_drawing(
    body: DrawingCreate, session: DbSession, principal: Reader, ip: ClientIp, response: Response
) -> DrawingFeature:
    """Save a point, line or polygon (e.g. an emergency cordon) for you or a unit in scope."""
    target = resolved_crs(body.crs, ["body", "crs"])
    drawing = await drawing_service.create_drawing(session, principal, body, ip)
    response.headers["Location"] = f"{API}/drawings/{drawing.id}"
    return drawing_service.to_feature(drawing, principal.username, principal, target)


@api.get("/drawings/{drawing_id}", response_model=DrawingFeature, summary="One drawing")
async def get_drawing(
    drawing_id: DrawingId, session: DbSession, principal: Reader, crs: CrsQuery = "wgs84"
) -> DrawingFeature:
    """One drawing you may see."""
    target = resolved_crs(crs, ["query", "crs"])
    drawing, owner = await drawing_service.get_drawing(session, principal, drawing_id)
    return drawing_service.to_feature(drawing, owner, principal, target)


@api.patch("/drawings/{drawing_id}", response_model=DrawingFeature, summary="Change a drawing")
async def update_drawing(
    drawing_id: DrawingId, body: DrawingUpdate, session: DbSession, principal: Reader, ip: ClientIp
) -> DrawingFeature:
    """Rename, restyle, reshape or share a drawing you may edit."""
    target = resolved_crs(body.crs, ["body", "crs"])
    drawing, owner = await drawing_service.update_drawing(session, principal, drawing_id, body, ip)
    return drawing_service.to_feature(drawing, owner, principal, target)


@api.delete("/drawings/{drawing_id}", status_code=204, summary="Delete a drawing")
async def delete_drawing(
    drawing_id: DrawingId, session: DbSession, principal: Reader, ip: ClientIp
) -> Response:
    """Delete a drawing you may edit."""
    await drawing_service.delete_drawing(session, principal, drawing_id, ip)
    return Response(status_code=204)


#: Everything of the map feature: the API above and the embeddable page at /map/embed.
router = APIRouter()
router.include_router(api)
router.include_router(embed_router)
