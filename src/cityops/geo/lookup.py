"""Division lookup: which district, unit, community, grid and multi-grid unit contain a point."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from cityops.org.models import COMMUNITY_LEVELS, TOWN_LEVELS, OrgLevel


@dataclass(frozen=True, slots=True)
class Area:
    """A unit that has a polygon."""

    code: str
    name: str
    level: str
    parent_code: str | None
    multigrid_code: str | None
    approximate: bool
    geometry: str


@dataclass(frozen=True, slots=True)
class Match:
    """A unit found for a point."""

    code: str
    name: str
    approximate: bool


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one point lies; every level is None outside the district."""

    inside_district: bool
    district: Match | None
    unit: Match | None
    community: Match | None
    grid: Match | None
    multigrid: Match | None


@dataclass(frozen=True, slots=True)
class Located:
    """Positions (into the index's area list, -1 for none) per level, one entry per point."""

    inside: NDArray[np.bool_]
    unit: NDArray[np.int64]
    community: NDArray[np.int64]
    grid: NDArray[np.int64]
    multigrid: NDArray[np.int64]


class DivisionIndex:
    """Spatial index over the finest polygons; coarser levels follow the parent chain."""

    def __init__(self, areas: Iterable[Area]) -> None:
        self._all = list(areas)
        position = {area.code: i for i, area in enumerate(self._all)}

        def pos(code: str | None) -> int:
            return position.get(code or "", -1)

        self._parent = np.array([pos(a.parent_code) for a in self._all], dtype=np.int64)
        self._multigrid = np.array([pos(a.multigrid_code) for a in self._all], dtype=np.int64)
        self._district = next((a for a in self._all if a.level == OrgLevel.DISTRICT), None)
        grids = [i for i, a in enumerate(self._all) if a.level == OrgLevel.GRID]
        communities = [i for i, a in enumerate(self._all) if a.level in COMMUNITY_LEVELS]
        self._grid_ids = np.array(grids, dtype=np.int64)
        self._community_ids = np.array(communities, dtype=np.int64)
        self._grid_tree = STRtree([self._shape(i) for i in grids])
        self._community_tree = STRtree([self._shape(i) for i in communities])
        self._outline = shape(json.loads(self._district.geometry)) if self._district else None
        if self._outline is not None:
            shapely.prepare(self._outline)

    def _shape(self, i: int) -> BaseGeometry:
        return shape(json.loads(self._all[i].geometry))

    def __len__(self) -> int:
        return len(self._all)

    def grid_geometries(self) -> list[BaseGeometry]:
        """The grid polygons the index searches first (for benchmarks and maps)."""
        return list(self._grid_tree.geometries)

    def locate_positions(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> Located:
        """Place many points (WGS84/CGCS2000 lon/lat arrays), vectorised."""
        points = shapely.points(lon, lat)
        hit = _first_hit(self._grid_tree, points)
        grid = np.where(hit >= 0, self._grid_ids[np.maximum(hit, 0)], -1) if len(hit) else hit
        community = np.where(grid >= 0, self._parent[np.maximum(grid, 0)], -1)
        missing = np.flatnonzero(community < 0)
        if missing.size:  # no grid polygon there (imported grids need not tile): try communities
            found = _first_hit(self._community_tree, points[missing])
            community[missing] = np.where(found >= 0, self._community_ids[np.maximum(found, 0)], -1)
        has = community >= 0
        unit = np.where(has, self._parent[np.maximum(community, 0)], -1)
        multigrid = np.where(has, self._multigrid[np.maximum(community, 0)], -1)
        inside = has.copy()
        outside = np.flatnonzero(~has)
        if outside.size and self._outline is not None:
            inside[outside] = shapely.contains_xy(self._outline, lon[outside], lat[outside])
        return Located(inside, unit, community, grid, multigrid)

    def locate(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> list[Placement]:
        """Place many points and describe each one."""
        found = self.locate_positions(lon, lat)
        return [self._placement(found, i) for i in range(len(found.inside))]

    def locate_one(self, lon: float, lat: float) -> Placement:
        """Place one point."""
        return self.locate(np.array([lon]), np.array([lat]))[0]

    def _match(self, position: int) -> Match | None:
        if position < 0:
            return None
        area = self._all[position]
        return Match(area.code, area.name, area.approximate)

    def _placement(self, found: Located, i: int) -> Placement:
        inside = bool(found.inside[i])
        unit = int(found.unit[i])
        return Placement(
            inside_district=inside,
            district=Match(self._district.code, self._district.name, self._district.approximate)
            if inside and self._district is not None
            else None,
            unit=self._match(unit) if unit >= 0 and self._all[unit].level in TOWN_LEVELS else None,
            community=self._match(int(found.community[i])),
            grid=self._match(int(found.grid[i])),
            multigrid=self._match(int(found.multigrid[i])),
        )


def _first_hit(tree: STRtree, points: NDArray[np.object_]) -> NDArray[np.int64]:
    """For each point, the index of the first polygon that intersects it, or -1."""
    if len(tree) == 0 or len(points) == 0:
        return np.full(len(points), -1, dtype=np.int64)
    point_i, tree_i = tree.query(points, predicate="intersects")
    # Several hits happen only on shared edges: keep the lowest polygon index, deterministically.
    lowest = np.full(len(points), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(lowest, point_i, tree_i)
    return np.where(lowest == np.iinfo(np.int64).max, -1, lowest)
