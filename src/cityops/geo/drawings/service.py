"""User-drawn map features (标绘): validation, scoped queries and the rules for changing them.

Visibility: a drawing is seen by its owner, and — when `shared` — by everyone whose data scope
covers its `org_code`; never by anyone whose scope does not cover `org_code`. Changing or
deleting: the owner, or for a shared drawing anyone who can see it and may draw. Read-only roles
(leader) never draw. A drawing that is not visible answers 404, so its existence is not revealed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth import audit
from cityops.auth.models import Account
from cityops.auth.principal import Principal
from cityops.auth.roles import Perm, Role
from cityops.geo import crs as crs_module
from cityops.geo.drawings.models import MapDrawing
from cityops.geo.map.schemas import (
    DrawingCreate,
    DrawingFeature,
    DrawingProperties,
    DrawingStyle,
    DrawingUpdate,
)
from cityops.kit.db import utcnow
from cityops.kit.errors import Forbidden, NotFound, OutOfScope, ProblemError
from cityops.org.models import OrgUnit

KINDS = ("Point", "LineString", "Polygon")
MAX_VERTICES = 10_000
#: Roles that read the map but never draw on it.
READ_ONLY_ROLES = frozenset({Role.LEADER, Role.AUDIT_ADMIN})


@dataclass(frozen=True, slots=True)
class CheckedGeometry:
    """A drawing geometry accepted for storage: WGS84 GeoJSON, its kind and bounds."""

    geojson: dict[str, Any]
    kind: str
    bounds: tuple[float, float, float, float]


def _invalid(message: str, loc: Sequence[str] = ("body", "geometry")) -> ProblemError:
    return ProblemError(
        422, "validation", message, errors=[{"loc": list(loc), "msg": message, "type": "geometry"}]
    )


def resolve_crs(name: str, loc: Sequence[str]) -> str:
    """A CRS name made canonical, or a 422 problem naming the field."""
    try:
        return crs_module.resolve_crs(name)
    except crs_module.CRSError as exc:
        raise ProblemError(
            422, "validation", str(exc), errors=[{"loc": list(loc), "msg": str(exc), "type": "crs"}]
        ) from exc


def check_geometry(geometry: Mapping[str, Any], crs: str) -> CheckedGeometry:
    """Convert a GeoJSON Point, LineString or Polygon to WGS84 and check it is drawable."""
    kind = geometry.get("type")
    if kind not in KINDS:
        raise _invalid(f"geometry type must be one of {', '.join(KINDS)}, not {str(kind)[:40]!r}")
    try:
        wgs84 = crs_module.transform_geojson(geometry, crs, crs_module.CRS.WGS84)
        shaped = shape(wgs84)
    except (crs_module.GeoJSONError, ValueError, TypeError, IndexError) as exc:
        raise _invalid(f"geometry is not valid GeoJSON: {exc}") from exc
    _check_shape(shaped)
    wgs84.pop("bbox", None)
    west, south, east, north = (float(v) for v in shaped.bounds)
    return CheckedGeometry(wgs84, str(kind), (west, south, east, north))


def _check_shape(shaped: BaseGeometry) -> None:
    """Refuse empty, non-finite, out-of-range, oversized or self-intersecting geometries."""
    if shaped.is_empty:
        raise _invalid("geometry is empty")
    coords = shapely.get_coordinates(shaped)
    if len(coords) > MAX_VERTICES:
        raise _invalid(f"geometry has {len(coords)} vertices; at most {MAX_VERTICES} are allowed")
    if not all(math.isfinite(v) for v in coords.ravel().tolist()):
        raise _invalid("coordinates must be finite numbers")
    lon, lat = coords[:, 0], coords[:, 1]
    if lon.min() < -180 or lon.max() > 180 or lat.min() < -90 or lat.max() > 90:
        raise _invalid("coordinates are outside longitude -180..180 / latitude -90..90")
    if shaped.geom_type == "LineString" and shaped.length == 0:
        raise _invalid("a line needs two distinct points")
    if shaped.geom_type == "Polygon":
        if not shaped.is_valid:
            raise _invalid(f"polygon is not valid: {shapely.is_valid_reason(shaped)}")
        if shaped.area == 0:
            raise _invalid("polygon has no area")


def may_draw(principal: Principal) -> bool:
    """Whether the caller's role may create or change drawings."""
    return principal.can(Perm.ORG_READ) and principal.role not in READ_ONLY_ROLES


def may_edit(principal: Principal, drawing: MapDrawing) -> bool:
    """Whether the caller may change or delete a drawing it can see."""
    if not may_draw(principal) or not principal.scope.allows(drawing.org_code):
        return False
    return drawing.owner_id == principal.account_id or drawing.shared


def _visible(principal: Principal) -> Any:
    return or_(MapDrawing.owner_id == principal.account_id, MapDrawing.shared.is_(True))


async def list_drawings(
    session: AsyncSession,
    principal: Principal,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = 5000,
) -> list[tuple[MapDrawing, str | None]]:
    """The drawings the caller may see (in a WGS84 box if given), newest first, with owners."""
    stmt = (
        select(MapDrawing, Account.username)
        .outerjoin(Account, Account.id == MapDrawing.owner_id)
        .where(_visible(principal), principal.scope.clause(MapDrawing.org_code))
    )
    if bbox is not None:
        west, south, east, north = bbox
        stmt = stmt.where(
            and_(
                MapDrawing.max_lon >= west,
                MapDrawing.min_lon <= east,
                MapDrawing.max_lat >= south,
                MapDrawing.min_lat <= north,
            )
        )
    stmt = stmt.order_by(MapDrawing.id.desc()).limit(limit)
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def get_drawing(
    session: AsyncSession, principal: Principal, drawing_id: int
) -> tuple[MapDrawing, str | None]:
    """One visible drawing with its owner's username, or 404."""
    stmt = (
        select(MapDrawing, Account.username)
        .outerjoin(Account, Account.id == MapDrawing.owner_id)
        .where(
            MapDrawing.id == drawing_id,
            _visible(principal),
            principal.scope.clause(MapDrawing.org_code),
        )
    )
    row = (await session.execute(stmt)).first()
    if row is None:
        raise NotFound("drawing", drawing_id)
    return row[0], row[1]


async def data_version(session: AsyncSession) -> str:
    """A fingerprint of the drawing table that moves on every change."""
    stmt = select(func.count(), func.max(MapDrawing.updated_at), func.max(MapDrawing.id))
    count, latest, top = (await session.execute(stmt)).one()
    return f"{count}:{latest.isoformat() if latest else '-'}:{top or 0}"


def _apply_geometry(drawing: MapDrawing, checked: CheckedGeometry) -> None:
    drawing.geometry = json.dumps(checked.geojson, separators=(",", ":"))
    drawing.kind = checked.kind
    drawing.min_lon, drawing.min_lat, drawing.max_lon, drawing.max_lat = checked.bounds


async def create_drawing(
    session: AsyncSession, principal: Principal, body: DrawingCreate, client_ip: str
) -> MapDrawing:
    """Save a new drawing owned by the caller, for its own unit or one in its scope."""
    if not may_draw(principal):
        raise Forbidden(f"your role ({principal.role}) only reads the map")
    org_code = body.org_code or principal.org_code
    if not principal.scope.allows(org_code):
        raise OutOfScope(org_code)
    if await session.get(OrgUnit, org_code) is None:
        raise _invalid(f"org unit {org_code} does not exist", ("body", "org_code"))
    checked = check_geometry(body.geometry, resolve_crs(body.crs, ("body", "crs")))
    now = utcnow()
    drawing = MapDrawing(
        name=body.name,
        style=body.style.model_dump(),
        org_code=org_code,
        owner_id=principal.account_id,
        shared=body.shared,
        created_at=now,
        updated_at=now,
    )
    _apply_geometry(drawing, checked)
    session.add(drawing)
    await session.flush()
    await _audit(session, principal, "map.drawing_create", drawing, client_ip)
    return drawing


async def update_drawing(
    session: AsyncSession, principal: Principal, drawing_id: int, body: DrawingUpdate, ip: str
) -> tuple[MapDrawing, str | None]:
    """Change a drawing the caller may edit."""
    drawing, owner = await get_drawing(session, principal, drawing_id)
    if not may_edit(principal, drawing):
        raise Forbidden("only the owner changes an unshared drawing; read-only roles never do")
    if body.geometry is not None:
        _apply_geometry(
            drawing, check_geometry(body.geometry, resolve_crs(body.crs, ("body", "crs")))
        )
    if body.name is not None:
        drawing.name = body.name
    if body.style is not None:
        drawing.style = body.style.model_dump()
    if body.shared is not None:
        if drawing.owner_id != principal.account_id and not body.shared:
            raise Forbidden("only the owner makes a shared drawing private again")
        drawing.shared = body.shared
    drawing.updated_at = utcnow()
    await session.flush()
    await _audit(session, principal, "map.drawing_update", drawing, ip)
    return drawing, owner


async def delete_drawing(
    session: AsyncSession, principal: Principal, drawing_id: int, client_ip: str
) -> None:
    """Delete a drawing the caller may edit."""
    drawing, _ = await get_drawing(session, principal, drawing_id)
    if not may_edit(principal, drawing):
        raise Forbidden("only the owner deletes an unshared drawing; read-only roles never do")
    await _audit(session, principal, "map.drawing_delete", drawing, client_ip)
    await session.delete(drawing)
    await session.flush()


async def _audit(
    session: AsyncSession, principal: Principal, action: str, drawing: MapDrawing, ip: str
) -> None:
    await audit.record(
        session,
        action=action,
        result="success",
        actor=principal,
        target=f"map_drawing:{drawing.id}",
        client_ip=ip,
        detail={"org_code": drawing.org_code, "kind": drawing.kind, "shared": drawing.shared},
    )


def to_feature(
    drawing: MapDrawing, owner: str | None, principal: Principal, crs: str
) -> DrawingFeature:
    """A drawing as a GeoJSON Feature, its geometry in `crs`."""
    geometry = json.loads(drawing.geometry)
    if crs not in (crs_module.CRS.WGS84, crs_module.CRS.CGCS2000):
        geometry = crs_module.transform_geojson(geometry, crs_module.CRS.WGS84, crs)
    style = DrawingStyle.model_validate(drawing.style or {})
    return DrawingFeature(
        id=drawing.id,
        geometry=geometry,
        properties=DrawingProperties(
            name=drawing.name,
            color=style.color,
            width=style.width,
            fill_opacity=style.fill_opacity,
            dashed=style.dashed,
            org_code=drawing.org_code,
            shared=drawing.shared,
            owner=owner,
            mine=drawing.owner_id == principal.account_id,
            editable=may_edit(principal, drawing),
            created_at=drawing.created_at,
            updated_at=drawing.updated_at,
        ),
    )
