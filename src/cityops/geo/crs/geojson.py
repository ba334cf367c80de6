"""GeoJSON geometries converted between CRSs, validated on the way."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from cityops.geo.crs.names import COORD_LIMIT, GeoJSONError, within_limit
from cityops.geo.crs.route import _route, _run_array

#: Nesting depth of positions in `coordinates`, per geometry type.
_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
_MAX_COLLECTION_NESTING = 8


def transform_geojson(geometry: Mapping[str, Any], src: str, dst: str) -> dict[str, Any]:
    """A converted copy of a GeoJSON geometry, structure and z kept, `bbox` recomputed.

    Handles Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon and
    GeometryCollection; all positions go through `transform_array` in one batch. A legacy
    `crs` member is dropped (it would now be wrong); other members are copied.
    """
    up, down = _route(src, dst)
    xs: list[float] = []
    ys: list[float] = []
    _collect(geometry, xs, ys, 0)
    tx, ty = _run_array(up, down, np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64))
    return _rebuild(geometry, zip(tx.tolist(), ty.tolist(), strict=True))


def _is_number(value: object) -> bool:
    """Whether a JSON value is a number (booleans are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _collect(geometry: object, xs: list[float], ys: list[float], nesting: int) -> None:
    """Validate a geometry and append its positions' x and y, in document order."""
    if not isinstance(geometry, Mapping):
        raise GeoJSONError("a GeoJSON geometry must be an object")
    kind = geometry.get("type")
    bbox = geometry.get("bbox")
    if bbox is not None and not (
        isinstance(bbox, list | tuple) and len(bbox) in (4, 6) and all(map(_is_number, bbox))
    ):
        raise GeoJSONError("bbox must be an array of 4 or 6 numbers")
    if kind == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, list | tuple):
            raise GeoJSONError("a GeometryCollection needs a 'geometries' array")
        if nesting >= _MAX_COLLECTION_NESTING:
            raise GeoJSONError("GeometryCollections are nested too deeply")
        for member in members:
            _collect(member, xs, ys, nesting + 1)
        return
    if not isinstance(kind, str) or kind not in _DEPTH:
        raise GeoJSONError(f"unsupported GeoJSON geometry type {str(kind)[:40]!r}")
    coordinates = geometry.get("coordinates")
    if isinstance(coordinates, list | tuple) and not coordinates:
        return  # an empty geometry (RFC 7946 §3.1)
    _collect_positions(coordinates, _DEPTH[kind], xs, ys)


def _collect_positions(coords: object, depth: int, xs: list[float], ys: list[float]) -> None:
    """Append the positions nested `depth` arrays deep in `coords`."""
    if not isinstance(coords, list | tuple):
        raise GeoJSONError("coordinates must be nested arrays of positions")
    if depth == 0:
        if len(coords) < 2 or not all(map(_is_number, coords)):
            raise GeoJSONError("a position must be an array of at least two numbers")
        if not within_limit(float(coords[0]), float(coords[1])):
            raise GeoJSONError(f"a position must lie within ±{COORD_LIMIT:g}")
        xs.append(float(coords[0]))
        ys.append(float(coords[1]))
        return
    for child in coords:
        _collect_positions(child, depth - 1, xs, ys)


def _rebuild(geometry: Mapping[str, Any], points: Iterator[tuple[float, float]]) -> dict[str, Any]:
    """A copy of a validated geometry with positions taken in order from `points`."""
    out: dict[str, Any] = {}
    for key, value in geometry.items():
        if key == "coordinates" and geometry["type"] != "GeometryCollection":
            out[key] = _rebuild_positions(value, _DEPTH[geometry["type"]], points)
        elif key == "geometries" and geometry["type"] == "GeometryCollection":
            out[key] = [_rebuild(member, points) for member in value]
        elif key != "crs":
            out[key] = copy.deepcopy(value)
    if "bbox" in out:
        bbox = _bbox(out, out["bbox"])
        if bbox is None:
            del out["bbox"]
        else:
            out["bbox"] = bbox
    return out


def _rebuild_positions(coords: Any, depth: int, points: Iterator[tuple[float, float]]) -> Any:
    """The nested arrays of `coords` with each position's x and y replaced, extra ordinates kept."""
    if depth == 0:
        return [*next(points), *coords[2:]] if coords else []
    return [_rebuild_positions(child, depth - 1, points) for child in coords]


def _positions(geometry: Mapping[str, Any]) -> Iterator[Sequence[float]]:
    """Every position of a rebuilt geometry."""
    if geometry["type"] == "GeometryCollection":
        for member in geometry["geometries"]:
            yield from _positions(member)
        return
    stack: list[tuple[Any, int]] = [(geometry["coordinates"], _DEPTH[geometry["type"]])]
    while stack:
        coords, depth = stack.pop()
        if depth == 0:
            if coords:
                yield coords
        else:
            stack.extend((child, depth - 1) for child in coords)


def _bbox(geometry: Mapping[str, Any], old: Sequence[float]) -> list[float] | None:
    """The x/y extent of a rebuilt geometry, z range kept from `old`; None when empty."""
    positions = list(_positions(geometry))
    if not positions:
        return None
    xs = [p[0] for p in positions]
    ys = [p[1] for p in positions]
    if len(old) == 6:
        return [min(xs), min(ys), old[2], max(xs), max(ys), old[5]]
    return [min(xs), min(ys), max(xs), max(ys)]
