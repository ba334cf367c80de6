"""Generate approximate, reproducible boundaries for units, communities and grids.

No open polygons exist for Songjiang's towns, communities or grids. These are Voronoi cells
around known or seeded points, clipped to the district outline and relaxed (Lloyd) so cells are
compact. They are good enough to route a case to roughly the right place on a demo and to test
the machinery; they are never presented as surveyed: every one carries APPROXIMATE_SOURCE.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

import shapely
from shapely.geometry import MultiPoint, Point, mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.prepared import prep

APPROXIMATE_SOURCE = "approximate: generated Voronoi cells (no official boundary is public)"
_LAT0 = 31.03  # Songjiang's mid latitude: scale longitude so cells are not stretched


@dataclass(frozen=True, slots=True)
class GeneratedBoundary:
    """A unit's generated polygon as a GeoJSON geometry dict (WGS84 lon/lat)."""

    code: str
    geometry: dict[str, object]


def district_outline(district_code: str) -> BaseGeometry:
    """The shipped outline of a district, made valid."""
    path = resources.files("cityops.data").joinpath("geo", f"district-{district_code}.geojson")
    document = json.loads(path.read_text("utf-8"))
    return shapely.make_valid(shape(document["features"][0]["geometry"]))


def unit_points(district_code: str) -> dict[str, tuple[float, float]]:
    """One representative (approximate) point per township-level unit, where shipped."""
    path = resources.files("cityops.data").joinpath(
        "geo", f"towns-{district_code}-approx-points.csv"
    )
    if not path.is_file():
        return {}
    rows = csv.DictReader(io.StringIO(path.read_text("utf-8")))
    return {r["code"]: (float(r["lon"]), float(r["lat"])) for r in rows}


def _scale(geom: BaseGeometry, inverse: bool = False) -> BaseGeometry:
    factor = math.cos(math.radians(_LAT0))
    fx = 1 / factor if inverse else factor
    return shapely.transform(geom, lambda xy: xy * [fx, 1.0])


def _cells(points: Sequence[tuple[float, float]], region: BaseGeometry) -> list[BaseGeometry]:
    """Voronoi cells of points (in scaled space), clipped to the region, in point order."""
    if len(points) == 1:
        return [region]
    diagram = shapely.voronoi_polygons(MultiPoint(points), extend_to=region.envelope.buffer(1))
    cells = list(diagram.geoms)
    ordered: list[BaseGeometry] = []
    for x, y in points:
        seed = Point(x, y)
        cell = next((c for c in cells if c.covers(seed)), None)
        ordered.append(shapely.intersection(cell, region) if cell is not None else Point())
    return ordered


def _seed_points(region: BaseGeometry, count: int, rng: random.Random) -> list[tuple[float, float]]:
    minx, miny, maxx, maxy = region.bounds
    points: list[tuple[float, float]] = []
    prepared = prep(region)
    for _ in range(count * 200):
        if len(points) == count:
            break
        candidate = (rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if prepared.contains(Point(candidate)):
            points.append(candidate)
    while len(points) < count:  # a sliver region: fall back to its representative point
        p = region.representative_point()
        points.append((p.x + 1e-7 * len(points), p.y))
    return points


def _relaxed_cells(region: BaseGeometry, count: int, seed: int, rounds: int) -> list[BaseGeometry]:
    """Split a region into `count` compact cells: seeded points, then Lloyd relaxation."""
    rng = random.Random(seed)  # noqa: S311 - reproducible layout, not security
    points = _seed_points(region, count, rng)
    cells = _cells(points, region)
    for _ in range(rounds):
        points = [
            (c.centroid.x, c.centroid.y) if not c.is_empty and region.contains(c.centroid) else p
            for c, p in zip(cells, points, strict=True)
        ]
        cells = _cells(points, region)
    return cells


def _spatial_order(cells: list[BaseGeometry]) -> list[BaseGeometry]:
    # North-west first, so consecutive codes sit near each other.
    return sorted(cells, key=lambda c: (-round(c.centroid.y, 2), c.centroid.x))


def _as_geojson(geom: BaseGeometry) -> dict[str, object]:
    polygonal = shapely.make_valid(_scale(geom, inverse=True))
    if polygonal.geom_type == "GeometryCollection":
        parts = [g for g in polygonal.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        polygonal = shapely.union_all(parts)
    rounded = shapely.set_precision(polygonal, 1e-7)
    return dict(mapping(rounded))


def generate_boundaries(
    district_code: str,
    units: Sequence[str],
    children: Mapping[str, Sequence[str]],
) -> list[GeneratedBoundary]:
    """Approximate polygons for units with a shipped point, their communities and grids.

    `units` are township-level codes; `children` maps a unit to its community codes and a
    community to its grid codes. Units without a shipped point get no polygon.
    """
    outline = _scale(district_outline(district_code))
    known = unit_points(district_code)
    placed = [code for code in units if code in known]
    scale = math.cos(math.radians(_LAT0))
    seeds = [(known[c][0] * scale, known[c][1]) for c in placed]
    out: list[GeneratedBoundary] = []
    for code, cell in zip(placed, _cells(seeds, outline), strict=True):
        out.append(GeneratedBoundary(code, _as_geojson(cell)))
        out.extend(_subdivide(cell, list(children.get(code, ())), children, depth=0))
    return out


def _subdivide(
    region: BaseGeometry,
    codes: list[str],
    children: Mapping[str, Sequence[str]],
    depth: int,
) -> list[GeneratedBoundary]:
    if not codes or region.is_empty:
        return []
    seed = int("".join(ch for ch in codes[0] if ch.isdigit()))
    cells = _spatial_order(_relaxed_cells(region, len(codes), seed, rounds=4 if depth == 0 else 2))
    out: list[GeneratedBoundary] = []
    for code, cell in zip(sorted(codes), cells, strict=True):
        out.append(GeneratedBoundary(code, _as_geojson(cell)))
        if depth == 0:
            out.extend(_subdivide(cell, list(children.get(code, ())), children, depth + 1))
    return out
