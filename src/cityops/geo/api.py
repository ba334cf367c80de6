"""HTTP endpoints of the map platform under /api/v1/geo: CRS, division lookup, boundaries."""

from __future__ import annotations

import asyncio
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Form, Query, Request, UploadFile
from pydantic import BaseModel

from cityops.auth import audit
from cityops.auth.deps import require
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.geo import crs as crs_module
from cityops.geo.boundary_import import import_boundaries, read_boundary_file
from cityops.geo.lookup import DivisionIndex, Match, Placement
from cityops.geo.schemas import (
    DivisionBatchRequest,
    DivisionBatchResult,
    DivisionPlacement,
    DivisionRef,
    TransformRequest,
    TransformResult,
)
from cityops.geo.service import DivisionIndexCache
from cityops.kit.errors import OutOfScope, ProblemError
from cityops.kit.web import ClientIp, DbSession
from cityops.org.divisions import DivisionDataError
from cityops.org.tree import OrgTreeCache

router = APIRouter(prefix="/api/v1/geo", tags=["geo"])
Reader = Annotated[Principal, Depends(require(Perm.ORG_READ))]
FiniteQuery = Annotated[
    float, Query(allow_inf_nan=False, ge=-crs_module.COORD_LIMIT, le=crs_module.COORD_LIMIT)
]


def _crs_problem(exc: crs_module.CRSError, where: list[str]) -> ProblemError:
    return ProblemError(
        422, "validation", str(exc), errors=[{"loc": where, "msg": str(exc), "type": "crs"}]
    )


def _checked(name: str, where: list[str]) -> str:
    try:
        return crs_module.resolve_crs(name)
    except crs_module.CRSError as exc:
        raise _crs_problem(exc, where) from exc


async def _index(request: Request) -> DivisionIndex:
    cache: DivisionIndexCache = request.app.state.division_index
    return await cache.current()


Index = Annotated[DivisionIndex, Depends(_index)]


@router.get("/crs", summary="Supported coordinate reference systems")
async def list_crs(principal: Reader) -> list[str]:
    """Names accepted by every `crs=`, `from` and `to` parameter."""
    return crs_module.supported_crs()


@router.get("/transform", response_model=TransformResult, summary="Convert one point")
async def transform_point(
    principal: Reader,
    x: FiniteQuery,
    y: FiniteQuery,
    source: Annotated[str, Query(alias="from", max_length=64)] = "wgs84",
    target: Annotated[str, Query(alias="to", max_length=64)] = "gcj02",
) -> TransformResult:
    """Convert x (longitude or easting) and y (latitude or northing) from one CRS to another."""
    src = _checked(source, ["query", "from"])
    dst = _checked(target, ["query", "to"])
    tx, ty = crs_module.transform(x, y, src, dst)
    return TransformResult(crs=dst, points=[[tx, ty]])


@router.post("/transform", response_model=TransformResult, summary="Convert points or GeoJSON")
async def transform_batch(body: TransformRequest, principal: Reader) -> TransformResult:
    """Convert a batch of points (vectorised) or one GeoJSON geometry."""
    src = _checked(body.source, ["body", "from"])
    dst = _checked(body.target, ["body", "to"])
    if (body.points is None) == (body.geometry is None):
        raise ProblemError(
            422,
            "validation",
            "send exactly one of points or geometry",
            errors=[{"loc": ["body"], "msg": "points xor geometry", "type": "one_of"}],
        )
    if body.geometry is not None:
        try:
            geometry = crs_module.transform_geojson(body.geometry, src, dst)
        except (crs_module.GeoJSONError, crs_module.CRSError) as exc:
            raise ProblemError(
                422,
                "validation",
                str(exc),
                errors=[{"loc": ["body", "geometry"], "msg": str(exc), "type": "geojson"}],
            ) from exc
        return TransformResult(crs=dst, geometry=geometry)
    array = np.asarray(body.points, dtype=np.float64).reshape(-1, 2)
    xs, ys = await asyncio.to_thread(crs_module.transform_array, array[:, 0], array[:, 1], src, dst)
    return TransformResult(crs=dst, points=np.column_stack([xs, ys]).tolist())


def _ref(match: Match | None) -> DivisionRef | None:
    return (
        DivisionRef(code=match.code, name=match.name, approximate=match.approximate)
        if match
        else None
    )


def _placement(lon: float, lat: float, place: Placement) -> DivisionPlacement:
    return DivisionPlacement(
        lon=lon,
        lat=lat,
        inside_district=place.inside_district,
        district=_ref(place.district),
        unit=_ref(place.unit),
        community=_ref(place.community),
        grid=_ref(place.grid),
        multigrid=_ref(place.multigrid),
    )


def _to_wgs84(xs: np.ndarray, ys: np.ndarray, src: str) -> tuple[np.ndarray, np.ndarray]:
    if src in (crs_module.CRS.WGS84, crs_module.CRS.CGCS2000):
        return xs, ys
    return crs_module.transform_array(xs, ys, src, crs_module.CRS.WGS84)


@router.get("/divisions", response_model=DivisionPlacement, summary="Which division is here")
async def locate_point(
    principal: Reader,
    index: Index,
    lon: FiniteQuery,
    lat: FiniteQuery,
    crs: Annotated[str, Query(max_length=64)] = "wgs84",
) -> DivisionPlacement:
    """The district, unit, community, grid and multi-grid unit containing a point.

    A point outside the district answers `inside_district: false` with every level null.
    """
    src = _checked(crs, ["query", "crs"])
    xs, ys = _to_wgs84(np.array([lon]), np.array([lat]), src)
    return _placement(float(xs[0]), float(ys[0]), index.locate(xs, ys)[0])


@router.post("/divisions", response_model=DivisionBatchResult, summary="Locate many points")
async def locate_batch(
    body: DivisionBatchRequest, principal: Reader, index: Index
) -> DivisionBatchResult:
    """Place up to 100,000 points in one call; the answer keeps their order."""
    src = _checked(body.crs, ["body", "crs"])
    array = np.asarray(body.points, dtype=np.float64).reshape(-1, 2)
    xs, ys = _to_wgs84(array[:, 0], array[:, 1], src)
    places = await asyncio.to_thread(index.locate, xs, ys)
    items = [_placement(float(x), float(y), p) for x, y, p in zip(xs, ys, places, strict=True)]
    approximate = any(
        ref.approximate for item in items for ref in (item.unit, item.community, item.grid) if ref
    )
    return DivisionBatchResult(items=items, approximate_boundaries=approximate)


#: Upload limit of a boundary file; app.py's BodySizeLimit needs BOUNDARY_BODY_LIMITS merged in.
MAX_BOUNDARY_FILE = 20 * 1024 * 1024
BOUNDARY_IMPORT_PATH = "/api/v1/geo/boundaries/import"
BOUNDARY_BODY_LIMITS = {BOUNDARY_IMPORT_PATH: MAX_BOUNDARY_FILE + 64 * 1024}


class BoundaryImportResult(BaseModel):
    """What a boundary import wrote."""

    imported: int
    codes: list[str]


@router.post(
    "/boundaries/import", response_model=BoundaryImportResult, summary="Import official boundaries"
)
async def import_boundary_file(
    request: Request,
    file: UploadFile,
    session: DbSession,
    ip: ClientIp,
    principal: Annotated[Principal, Depends(require(Perm.ORG_IMPORT))],
    code_field: Annotated[str | None, Form(max_length=64)] = None,
    crs: Annotated[str | None, Form(max_length=64)] = None,
    code_field_query: Annotated[str | None, Query(alias="code_field", max_length=64)] = None,
    crs_query: Annotated[str | None, Query(alias="crs", max_length=64)] = None,
) -> BoundaryImportResult:
    """Replace approximate polygons by official ones from GeoJSON or a zipped Shapefile.

    Every code must be a unit of the tree inside your scope. Units the file does not name keep
    their polygons (approximate ones stay approximate).
    """
    content = await file.read(MAX_BOUNDARY_FILE + 1)
    if len(content) > MAX_BOUNDARY_FILE:
        raise ProblemError(
            413, "body-too-large", f"boundary files are limited to {MAX_BOUNDARY_FILE} bytes"
        )
    filename = file.filename or "boundaries.geojson"
    label = filename.replace("\x00", "")[:128]
    field = code_field or code_field_query or "code"
    source_crs = crs or crs_query
    try:
        rows = await asyncio.to_thread(
            read_boundary_file, filename, content, code_field=field, crs=source_crs
        )
    except DivisionDataError as exc:
        raise ProblemError(422, "validation", str(exc)) from exc
    tree_cache: OrgTreeCache = request.app.state.org_tree
    tree = await tree_cache.current()
    unknown = [r for r in rows if tree.get(r.code) is None]
    if unknown:
        first = unknown[0]
        raise ProblemError(
            422,
            "validation",
            f"{label}: feature {first.feature} (code {first.code}) is not in the org tree",
        )
    outside = sorted({r.code for r in rows if not principal.scope.allows(r.code)})
    if outside:
        raise OutOfScope(outside[0])
    try:
        count = await import_boundaries(session, rows, source=f"imported from {label}")
    except DivisionDataError as exc:
        raise ProblemError(422, "validation", str(exc)) from exc
    await audit.record(
        session,
        action="geo.import_boundaries",
        result="success",
        actor=principal,
        target=label,
        client_ip=ip,
        detail={"units": count, "code_field": field, "crs": source_crs or ""},
    )
    tree_cache.invalidate()
    return BoundaryImportResult(imported=count, codes=[r.code for r in rows])
