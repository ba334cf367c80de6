"""Import official boundaries (GeoJSON or zipped Shapefile, any supported CRS) over the tree.

An imported polygon replaces the unit's approximate one and is marked `geometry_approximate =
False`, so `ensure_approximate_boundaries` never overwrites it. Nothing is regenerated: the
approximate polygons of units the file does not name stay as they are, so operators import
every level they have (district, towns, communities, grids).
"""

from __future__ import annotations

import codecs
import io
import json
import logging
import math
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shapefile
from pyproj import CRS as ProjCRS
from pyproj.exceptions import CRSError as ProjCRSError
from shapely import orient_polygons
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import make_valid
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.geo.crs import CRS, CRSError, GeoJSONError, resolve_crs, transform_geojson
from cityops.org.divisions import DivisionDataError
from cityops.org.models import OrgLevel, OrgUnit

log = logging.getLogger(__name__)

POLYGON_TYPES = ("Polygon", "MultiPolygon")
#: The most a zipped Shapefile may expand to; a guard against zip bombs.
MAX_UNZIPPED = 512 * 1024 * 1024
_EPSG_NAME = re.compile(r"EPSG:+(?:[0-9.]*:)?([0-9]+)$", re.IGNORECASE)
_CRS84 = re.compile(r"(?:OGC:+(?:[0-9.]*:)?)?CRS:?84$", re.IGNORECASE)
_CHUNK = 500


class BoundaryDataError(DivisionDataError):
    """A boundary file cannot be imported; the message names the feature and code."""


@dataclass(frozen=True, slots=True)
class BoundaryRow:
    """One official boundary: a unit code and its WGS84 Polygon or MultiPolygon."""

    code: str
    geometry: dict[str, Any]
    feature: int = -1


def read_boundary_file(
    filename: str, content: bytes, *, code_field: str = "code", crs: str | None = None
) -> list[BoundaryRow]:
    """Read boundaries from a GeoJSON FeatureCollection or a zipped Shapefile, in WGS84."""
    given = _resolve(crs, f"{filename}: --crs") if crs else None
    lower = filename.lower()
    if lower.endswith(".zip"):
        features, source_crs = _shapefile_features(filename, content, code_field, given)
    elif lower.endswith((".geojson", ".json")):
        features, source_crs = _geojson_features(filename, content, given)
    else:
        raise BoundaryDataError(f"{filename}: expected .geojson, .json or a zipped Shapefile .zip")
    rows: list[BoundaryRow] = []
    seen: dict[str, int] = {}
    for index, (props, geometry) in enumerate(features):
        code = _code(filename, index, props, code_field)
        if code in seen:
            raise BoundaryDataError(
                f"{filename}: feature {index} (code {code}) repeats feature {seen[code]}"
            )
        seen[code] = index
        rows.append(
            BoundaryRow(code, _wgs84_polygon(filename, index, code, geometry, source_crs), index)
        )
    if not rows:
        raise BoundaryDataError(f"{filename}: no features")
    return rows


def _resolve(name: str, where: str) -> str:
    """A cityops CRS name, or BoundaryDataError."""
    try:
        return resolve_crs(name)
    except CRSError as exc:
        raise BoundaryDataError(f"{where}: {exc}") from exc


def _code(filename: str, index: int, props: Mapping[str, Any], code_field: str) -> str:
    """The unit code of a feature, as text."""
    if code_field not in props:
        fields = ", ".join(sorted(map(str, props))[:20]) or "none"
        raise BoundaryDataError(
            f"{filename}: feature {index} has no code field {code_field!r} (fields: {fields})"
        )
    value = props[code_field]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    code = "" if value is None else str(value).strip()
    if not code:
        raise BoundaryDataError(f"{filename}: feature {index} has an empty {code_field!r}")
    return code


# --- GeoJSON ----------------------------------------------------------------------------------


def _geojson_features(
    filename: str, content: bytes, given: str | None
) -> tuple[list[tuple[Mapping[str, Any], Any]], str]:
    """The (properties, geometry) pairs of a FeatureCollection and the CRS they are in."""
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BoundaryDataError(f"{filename}: not UTF-8 JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise BoundaryDataError(f"{filename}: not a GeoJSON FeatureCollection")
    features = document.get("features")
    if not isinstance(features, list):
        raise BoundaryDataError(f"{filename}: features is not a list")
    source_crs = given or _legacy_crs(filename, document.get("crs"))
    pairs: list[tuple[Mapping[str, Any], Any]] = []
    for index, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            raise BoundaryDataError(f"{filename}: feature {index} has no properties object")
        pairs.append((props, feature.get("geometry")))
    return pairs, source_crs


def _legacy_crs(filename: str, member: object) -> str:
    """The CRS named by a pre-RFC 7946 `crs` member; WGS84 when there is none."""
    if member is None:
        return CRS.WGS84
    name = member.get("properties", {}).get("name") if isinstance(member, dict) else None
    if not isinstance(name, str):
        raise BoundaryDataError(f"{filename}: the crs member has no properties.name; give --crs")
    if _CRS84.search(name):
        return CRS.WGS84
    match = _EPSG_NAME.search(name.strip())
    if match is None:
        raise BoundaryDataError(f"{filename}: cannot read crs {name[:80]!r}; give --crs")
    return _resolve(f"epsg:{match.group(1)}", f"{filename}: crs {name[:80]!r} (give --crs)")


# --- Shapefile --------------------------------------------------------------------------------


def _shapefile_features(
    filename: str, content: bytes, code_field: str, given: str | None
) -> tuple[list[tuple[Mapping[str, Any], Any]], str]:
    """The (attributes, geometry) pairs of the one Shapefile inside a zip, and its CRS."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise BoundaryDataError(f"{filename}: not a zip archive") from exc
    with archive:
        members = {
            info.filename.lower(): info
            for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        }
        shps = [name for name in members if name.endswith(".shp")]
        if len(shps) != 1:
            raise BoundaryDataError(
                f"{filename}: the zip must hold exactly one .shp, found {len(shps)}"
            )
        base = shps[0][:-4]
        parts = {ext: members.get(f"{base}.{ext}") for ext in ("shp", "shx", "dbf", "prj", "cpg")}
        if parts["dbf"] is None:
            raise BoundaryDataError(f"{filename}: {base}.dbf (the attribute table) is missing")
        if sum(info.file_size for info in parts.values() if info) > MAX_UNZIPPED:
            raise BoundaryDataError(f"{filename}: the Shapefile expands beyond {MAX_UNZIPPED} B")
        data = {ext: archive.read(info) for ext, info in parts.items() if info is not None}
    source_crs = given or _prj_crs(filename, data.get("prj"))
    encoding = data["cpg"].decode("ascii", "replace").strip() if "cpg" in data else "utf-8"
    try:
        reader = shapefile.Reader(
            shp=io.BytesIO(data["shp"]),
            shx=io.BytesIO(data["shx"]) if "shx" in data else None,
            dbf=io.BytesIO(data["dbf"]),
            encoding=_codec(encoding),
            encodingErrors="replace",
        )
    except (shapefile.ShapefileException, ValueError, OSError) as exc:
        raise BoundaryDataError(f"{filename}: unreadable Shapefile: {exc}") from exc
    with reader:
        names = [str(field[0]) for field in reader.fields[1:]]
        if code_field not in names:
            raise BoundaryDataError(
                f"{filename}: no code field {code_field!r} (fields: {', '.join(names)})"
            )
        pairs: list[tuple[Mapping[str, Any], Any]] = []
        try:
            for item in reader.iterShapeRecords():
                geometry = (
                    None
                    if item.shape.shapeType == shapefile.NULL
                    else dict(item.shape.__geo_interface__)
                )
                pairs.append((item.record.as_dict(), geometry))
        except (shapefile.ShapefileException, ValueError, IndexError) as exc:
            raise BoundaryDataError(
                f"{filename}: feature {len(pairs)}: unreadable shape: {exc}"
            ) from exc
    return pairs, source_crs


def _codec(name: str) -> str:
    """A Python codec for a .cpg code page, UTF-8 when unknown."""
    key = name.lower().replace("-", "")
    aliases = {"936": "gbk", "cp936": "gbk", "65001": "utf-8", "utf8": "utf-8"}
    candidate = aliases.get(key, name)
    try:
        return codecs.lookup(candidate).name
    except LookupError:
        return "utf-8"


def _prj_crs(filename: str, prj: bytes | None) -> str:
    """The cityops CRS of a .prj, or BoundaryDataError asking for --crs."""
    if prj is None:
        raise BoundaryDataError(f"{filename}: no .prj in the zip; give --crs")
    try:
        epsg = ProjCRS.from_wkt(prj.decode("utf-8", "replace")).to_epsg()
    except ProjCRSError as exc:
        raise BoundaryDataError(f"{filename}: unreadable .prj ({exc}); give --crs") from exc
    if epsg is None:
        raise BoundaryDataError(f"{filename}: the .prj matches no EPSG code; give --crs")
    return _resolve(f"epsg:{epsg}", f"{filename}: .prj EPSG:{epsg} (give --crs)")


# --- geometry ---------------------------------------------------------------------------------


def _wgs84_polygon(
    filename: str, index: int, code: str, geometry: object, source_crs: str
) -> dict[str, Any]:
    """A feature's geometry in WGS84, valid, polygonal and non-empty."""
    where = f"{filename}: feature {index} (code {code})"
    if not isinstance(geometry, dict) or geometry.get("type") not in POLYGON_TYPES:
        kind = geometry.get("type") if isinstance(geometry, dict) else geometry
        raise BoundaryDataError(f"{where}: expected a Polygon or MultiPolygon, got {kind!r}")
    try:
        converted = transform_geojson(geometry, source_crs, CRS.WGS84)
        shaped: BaseGeometry = shape(converted)
    except (GeoJSONError, CRSError, ValueError, TypeError, AttributeError) as exc:
        raise BoundaryDataError(f"{where}: bad geometry: {exc}") from exc
    if shaped.is_empty:
        raise BoundaryDataError(f"{where}: the geometry is empty")
    west, south, east, north = shaped.bounds
    finite = all(map(math.isfinite, (west, south, east, north)))
    if not finite or west < -180 or east > 180 or south < -90 or north > 90:
        raise BoundaryDataError(
            f"{where}: coordinates are not longitude/latitude after converting from "
            f"{source_crs}; is the CRS right?"
        )
    fixed = shaped if shaped.is_valid else _polygonal(make_valid(shaped))
    if fixed is None:
        raise BoundaryDataError(f"{where}: the geometry has no area once made valid")
    # RFC 7946 ring order (exterior counter-clockwise); Shapefiles run the other way.
    result: dict[str, Any] = json.loads(
        json.dumps(mapping(orient_polygons(fixed, exterior_cw=False)))
    )
    return result


def _polygonal(geometry: BaseGeometry) -> BaseGeometry | None:
    """The polygonal part of a repaired geometry, or None when it has no area."""
    from shapely.geometry import MultiPolygon, Polygon

    if isinstance(geometry, Polygon | MultiPolygon):
        return None if geometry.is_empty else geometry
    polygons: list[Polygon] = []
    for part in getattr(geometry, "geoms", ()):
        if isinstance(part, Polygon) and not part.is_empty:
            polygons.append(part)
        elif isinstance(part, MultiPolygon):
            polygons.extend(p for p in part.geoms if not p.is_empty)
    if not polygons:
        return None
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


# --- writing ----------------------------------------------------------------------------------


async def import_boundaries(session: AsyncSession, rows: Sequence[BoundaryRow], source: str) -> int:
    """Set each named unit's official polygon; any unknown code refuses the whole file first."""
    codes = [row.code for row in rows]
    units: dict[str, OrgUnit] = {}
    for start in range(0, len(codes), _CHUNK):
        chunk = codes[start : start + _CHUNK]
        found = await session.scalars(select(OrgUnit).where(OrgUnit.code.in_(chunk)))
        units.update((unit.code, unit) for unit in found)
    for row in rows:
        unit = units.get(row.code)
        if unit is None:
            raise BoundaryDataError(
                f"{source}: feature {row.feature} (code {row.code}) is not in the org tree"
            )
        if unit.level == OrgLevel.MULTIGRID:
            raise BoundaryDataError(
                f"{source}: feature {row.feature} (code {row.code}) is a multi-grid unit, "
                "whose polygon is the union of its communities"
            )
    for row in rows:
        unit = units[row.code]
        unit.geometry = json.dumps(row.geometry, separators=(",", ":"))
        unit.geometry_approximate = False
    await session.flush()
    log.info("imported %d official boundaries (%s)", len(rows), source)
    return len(rows)
