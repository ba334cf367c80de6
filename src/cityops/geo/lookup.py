"""Division lookup: which district, unit, community, grid and multi-grid unit contain a point."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

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


class Codes(NamedTuple):
    """The codes of the units under one point (None where none; all None outside)."""

    inside_district: bool
    district: str | None
    unit: str | None
    community: str | None
    grid: str | None
    multigrid: str | None


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
        """Place one point: the same answer as `locate`, without the array set-up.

        Intake places one report at a time; building arrays for a single point cost more
        than the search itself.
        """
        return self._describe(*self._positions_one(lon, lat))

    def codes_one(self, lon: float, lat: float) -> Codes:
        """The codes under one point, without names (what routing needs, and faster)."""
        inside, unit, community, grid, multigrid = self._positions_one(lon, lat)
        district = self._district.code if inside and self._district is not None else None
        return Codes(
            inside,
            district,
            self._all[unit].code if unit >= 0 and self._all[unit].level in TOWN_LEVELS else None,
            self._all[community].code if community >= 0 else None,
            self._all[grid].code if grid >= 0 else None,
            self._all[multigrid].code if multigrid >= 0 else None,
        )

    def _positions_one(self, lon: float, lat: float) -> tuple[bool, int, int, int, int]:
        """(inside, unit, community, grid, multi-grid) positions of one point, -1 for none."""
        point = shapely.Point(lon, lat)
        grid = _lowest_hit(self._grid_tree, point, self._grid_ids)
        community = int(self._parent[grid]) if grid >= 0 else -1
        if community < 0:  # no grid polygon there: try communities, as `locate_positions` does
            community = _lowest_hit(self._community_tree, point, self._community_ids)
        if community >= 0:
            return (
                True,
                int(self._parent[community]),
                community,
                grid,
                int(self._multigrid[community]),
            )
        inside = self._outline is not None and bool(shapely.contains_xy(self._outline, lon, lat))
        return inside, -1, -1, grid, -1

    def _match(self, position: int) -> Match | None:
        if position < 0:
            return None
        area = self._all[position]
        return Match(area.code, area.name, area.approximate)

    def _placement(self, found: Located, i: int) -> Placement:
        return self._describe(
            bool(found.inside[i]),
            int(found.unit[i]),
            int(found.community[i]),
            int(found.grid[i]),
            int(found.multigrid[i]),
        )

    def _describe(
        self, inside: bool, unit: int, community: int, grid: int, multigrid: int
    ) -> Placement:
        district = self._district
        return Placement(
            inside_district=inside,
            district=Match(district.code, district.name, district.approximate)
            if inside and district is not None
            else None,
            unit=self._match(unit) if unit >= 0 and self._all[unit].level in TOWN_LEVELS else None,
            community=self._match(community),
            grid=self._match(grid),
            multigrid=self._match(multigrid),
        )


def _lowest_hit(tree: STRtree, point: BaseGeometry, ids: NDArray[np.int64]) -> int:
    """The position (in the index) of the lowest polygon of a tree under one point, or -1."""
    if len(tree) == 0:
        return -1
    hits = tree.query(point, predicate="intersects")
    if len(hits) == 0:
        return -1
    # Mostly one hit; a reduction over a one-element array costs more than the search.
    return int(ids[hits[0] if len(hits) == 1 else hits.min()])


def _first_hit(tree: STRtree, points: NDArray[np.object_]) -> NDArray[np.int64]:
    """For each point, the index of the first polygon that intersects it, or -1."""
    if len(tree) == 0 or len(points) == 0:
        return np.full(len(points), -1, dtype=np.int64)
    point_i, tree_i = tree.query(points, predicate="intersects")
    # Several hits happen only on shared edges: keep the lowest polygon index, deterministically.
    lowest = np.full(len(points), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(lowest, point_i, tree_i)
    return np.where(lowest == np.iinfo(np.int64).max, -1, lowest)
