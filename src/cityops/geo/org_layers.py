"""The built-in division layers: district, units, communities, grids and multi-grid units.

Built once per org-tree version from the polygons stored in `org_unit.geometry` (generated and
marked approximate where no official boundary exists), projected to Web Mercator and indexed.
Multi-grid units (多格合一) have no polygon of their own: each is the union of its member
communities' polygons, computed in the same pass.

Scope: communities, grids and multi-grid units are cut to the caller's data scope, so a town
never receives another town's. The district outline and the township-level units are shown to
every reader as context — their names and rough outlines are public administrative
geography — so their tiles are the same for everyone; the style (built per caller) dims the
units outside the caller's scope.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import shape

from cityops.auth.principal import Principal
from cityops.geo.layers import (
    BaseLayer,
    BBox,
    FeatureBatch,
    FeatureProperties,
    FeatureTable,
    GeometryKind,
    LayerContext,
    StyleLayer,
)
from cityops.kit.scope import DataScope
from cityops.org.models import COMMUNITY_LEVELS, TOWN_LEVELS, OrgLevel, OrgUnit
from cityops.org.repository import OrgRepository

_STORE_KEY = "org_layers"
#: Text fonts for labels, drawn by the browser from local fonts (the style has no glyphs URL).
LABEL_FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC"]


@dataclass(frozen=True, slots=True)
class _UnitRow:
    """The columns of one unit the layers need, detached from the session."""

    code: str
    name: str
    level: str
    parent_code: str | None
    multigrid_code: str | None
    in_guideline_18: bool
    synthetic: bool
    approximate: bool
    geometry: str | None


@dataclass(frozen=True, slots=True)
class OrgTables:
    """The feature tables of every division layer for one tree version."""

    version: str
    tables: dict[str, FeatureTable]


def _rows(units: Sequence[OrgUnit]) -> list[_UnitRow]:
    return [
        _UnitRow(
            u.code,
            u.name,
            u.level,
            u.parent_code,
            u.multigrid_code,
            u.in_guideline_18,
            u.synthetic,
            u.geometry_approximate,
            u.geometry,
        )
        for u in units
    ]


def _table(
    rows: list[_UnitRow], props: list[FeatureProperties], *, scoped: bool, labels: bool = True
) -> FeatureTable:
    geometries = [shape(json.loads(r.geometry or "null")) for r in rows]
    batch = FeatureBatch.from_wgs84(geometries, props, labels=labels)
    return FeatureTable(batch, [r.code for r in rows], scoped=scoped)


def _unit_props(r: _UnitRow) -> FeatureProperties:
    return {
        "code": r.code,
        "name": r.name,
        "level": r.level,
        "in_guideline_18": r.in_guideline_18,
        "approximate": r.approximate,
    }


def _community_props(r: _UnitRow) -> FeatureProperties:
    return {
        "code": r.code,
        "name": r.name,
        "level": r.level,
        "unit_code": r.parent_code,
        "multigrid_code": r.multigrid_code,
        "approximate": r.approximate,
    }


def _grid_props(r: _UnitRow) -> FeatureProperties:
    return {
        "code": r.code,
        "name": r.name,
        "community_code": r.parent_code,
        "synthetic": r.synthetic,
        "approximate": r.approximate,
    }


def _multigrid_table(rows: list[_UnitRow], communities: list[_UnitRow]) -> FeatureTable:
    """Multi-grid units as the union of their member communities' polygons."""
    members: dict[str, list[_UnitRow]] = defaultdict(list)
    for c in communities:
        if c.multigrid_code:
            members[c.multigrid_code].append(c)
    kept: list[_UnitRow] = []
    geometries: list[Any] = []
    props: list[FeatureProperties] = []
    for r in rows:
        parts = [shape(json.loads(c.geometry or "null")) for c in members.get(r.code, [])]
        if not parts:
            continue
        kept.append(r)
        geometries.append(shapely.make_valid(shapely.union_all(parts)))
        approximate = any(c.approximate for c in members[r.code])
        props.append(
            {
                "code": r.code,
                "name": r.name,
                "unit_code": r.parent_code,
                "members": len(parts),
                "synthetic": r.synthetic,
                "approximate": approximate,
            }
        )
    batch = FeatureBatch.from_wgs84(geometries, props, labels=True)
    return FeatureTable(batch, [r.code for r in kept])


def build_tables(version: str, units: list[_UnitRow]) -> OrgTables:
    """Every division layer's table (CPU work: run it off the event loop)."""
    shaped = [u for u in units if u.geometry is not None]
    district = [u for u in shaped if u.level == OrgLevel.DISTRICT]
    towns = [u for u in shaped if u.level in TOWN_LEVELS]
    communities = [u for u in shaped if u.level in COMMUNITY_LEVELS]
    grids = [u for u in shaped if u.level == OrgLevel.GRID]
    multigrids = [u for u in units if u.level == OrgLevel.MULTIGRID]
    tables = {
        "district": _table(
            district, [_unit_props(r) for r in district], scoped=False, labels=False
        ),
        "units": _table(towns, [_unit_props(r) for r in towns], scoped=False),
        "communities": _table(communities, [_community_props(r) for r in communities], scoped=True),
        "grids": _table(grids, [_grid_props(r) for r in grids], scoped=True),
        "multigrids": _multigrid_table(multigrids, communities),
    }
    return OrgTables(version, tables)


class _Holder:
    """The tables of the current version and the lock that builds the next."""

    def __init__(self) -> None:
        self.tables: OrgTables | None = None
        self.lock = asyncio.Lock()


async def org_tables(ctx: LayerContext) -> OrgTables:
    """The division tables for the tree's current version, rebuilt when it moves."""
    holder: _Holder = ctx.store.setdefault(_STORE_KEY, _Holder())
    version = (await ctx.tree.current()).version
    current = holder.tables
    if current is not None and current.version == version:
        return current
    async with holder.lock:
        if holder.tables is None or holder.tables.version != version:
            async with ctx.sessions() as session:
                units = _rows(await OrgRepository(session).all_units(DataScope.everything()))
            holder.tables = await asyncio.to_thread(build_tables, version, units)
    return holder.tables


class DivisionLayer(BaseLayer):
    """A layer of org-unit polygons read from the tree's tables."""

    table: str
    geometry: GeometryKind = GeometryKind.POLYGON
    labels: bool = True
    #: Whether features are cut to the caller's scope (else shown to every reader as context).
    scoped: bool = True

    def scope_key(self, principal: Principal) -> str:
        """Context layers are the same for everyone."""
        return super().scope_key(principal) if self.scoped else "*"

    async def version(self, ctx: LayerContext) -> str:
        """The org tree's version."""
        return (await ctx.tree.current()).version

    async def features(
        self, ctx: LayerContext, bbox: BBox | None, principal: Principal, version: str
    ) -> FeatureBatch:
        """The polygons in the box, cut to the caller's scope."""
        tables = await org_tables(ctx)
        return tables.tables[self.table].select(bbox, principal.scope)


def _label(source: str, min_zoom: float, size: float, color: str, halo: str) -> StyleLayer:
    return {
        "id": f"{source}-label",
        "type": "symbol",
        "source": source,
        "source-layer": "labels",
        "minzoom": min_zoom,
        "layout": {
            "text-field": ["get", "name"],
            "text-font": LABEL_FONTS,
            "text-size": size,
            "text-max-width": 8,
            "text-padding": 4,
        },
        "paint": {"text-color": color, "text-halo-color": halo, "text-halo-width": 1.6},
    }


class DistrictLayer(DivisionLayer):
    """The district outline (区界)."""

    name = "district"
    title = "区界"
    table = "district"
    labels = False
    scoped = False
    order = 100

    def style_layers(self, source: str, principal: Principal) -> list[StyleLayer]:
        """A dark fill with a bright double outline."""
        base = {"source": source, "source-layer": self.name}
        return [
            {"id": f"{source}-fill", "type": "fill", **base, "paint": {"fill-color": "#0c2340"}},
            {
                "id": f"{source}-glow",
                "type": "line",
                **base,
                "paint": {"line-color": "#22d3ee", "line-width": 7, "line-opacity": 0.18},
            },
            {
                "id": f"{source}-line",
                "type": "line",
                **base,
                "paint": {"line-color": "#67e8f9", "line-width": 2},
            },
        ]


def in_scope_expression(scope: DataScope) -> list[Any]:
    """A MapLibre expression: the feature's `code` is in the scope or an ancestor of it."""
    code = ["get", "code"]
    tests: list[Any] = []
    for prefix in sorted(scope.prefixes):
        tests.append(["==", ["slice", code, 0, len(prefix)], prefix])
        tests.append(["==", code, ["slice", prefix, 0, ["length", code]]])
    return ["any", *tests] if tests else ["boolean", False]


class UnitsLayer(DivisionLayer):
    """Township-level units (街镇): the same tile for every reader, as context."""

    name = "units"
    title = "街镇"
    table = "units"
    scoped = False
    order = 110

    def style_layers(self, source: str, principal: Principal) -> list[StyleLayer]:
        """Units in the caller's scope lit, others dimmed (the tile is the same for everyone)."""
        base = {"source": source, "source-layer": self.name}
        in_scope = in_scope_expression(principal.scope)
        fill = [
            "case",
            ["!", in_scope],
            "#0a1a2e",
            ["get", "in_guideline_18"],
            ["match", ["get", "level"], "street", "#16507e", "#123f66"],
            "#10324f",
        ]
        return [
            {
                "id": f"{source}-fill",
                "type": "fill",
                **base,
                "paint": {"fill-color": fill, "fill-opacity": 0.85},
            },
            {
                "id": f"{source}-line",
                "type": "line",
                **base,
                "paint": {
                    "line-color": ["case", in_scope, "#5eead4", "#2b5d7a"],
                    "line-width": ["interpolate", ["linear"], ["zoom"], 8, 1, 13, 2.5],
                },
            },
            _label(source, 8, 15, "#f1f5f9", "#04101f"),
        ]


class CommunitiesLayer(DivisionLayer):
    """Residents' and village committees (居村), cut to the caller's scope."""

    name = "communities"
    title = "居村"
    table = "communities"
    min_zoom = 10
    order = 120

    def style_layers(self, source: str, principal: Principal) -> list[StyleLayer]:
        """Thin outlines; labels from zoom 12."""
        base = {"source": source, "source-layer": self.name}
        return [
            {
                "id": f"{source}-fill",
                "type": "fill",
                **base,
                "paint": {"fill-color": "#38bdf8", "fill-opacity": 0.04},
            },
            {
                "id": f"{source}-line",
                "type": "line",
                **base,
                "paint": {"line-color": "#38a3d8", "line-width": 0.8, "line-opacity": 0.8},
            },
            _label(source, 12.5, 12, "#bae6fd", "#04101f"),
        ]


class GridsLayer(DivisionLayer):
    """Grids (网格), cut to the caller's scope; synthetic ones are dashed amber."""

    name = "grids"
    title = "网格"
    table = "grids"
    min_zoom = 12
    order = 140

    def style_layers(self, source: str, principal: Principal) -> list[StyleLayer]:
        """Synthetic grids dashed amber, official ones solid green."""
        base = {"source": source, "source-layer": self.name}
        synthetic = ["==", ["get", "synthetic"], True]
        return [
            {
                "id": f"{source}-fill",
                "type": "fill",
                **base,
                "paint": {"fill-color": "#f59e0b", "fill-opacity": 0.0},
            },
            {
                "id": f"{source}-line-synthetic",
                "type": "line",
                **base,
                "filter": synthetic,
                "paint": {
                    "line-color": "#f5a524",
                    "line-width": 1,
                    "line-opacity": 0.75,
                    "line-dasharray": [3, 2],
                },
            },
            {
                "id": f"{source}-line",
                "type": "line",
                **base,
                "filter": ["!", synthetic],
                "paint": {"line-color": "#4ade80", "line-width": 1},
            },
            _label(source, 14.5, 11, "#fde68a", "#04101f"),
        ]


class MultigridsLayer(DivisionLayer):
    """Multi-grid units (多格合一): the union of member communities, cut to scope."""

    name = "multigrids"
    title = "综合网格（多格合一）"
    table = "multigrids"
    min_zoom = 10
    order = 130

    def style_layers(self, source: str, principal: Principal) -> list[StyleLayer]:
        """Violet outlines, dashed when synthetic."""
        base = {"source": source, "source-layer": self.name}
        return [
            {
                "id": f"{source}-fill",
                "type": "fill",
                **base,
                "paint": {"fill-color": "#a78bfa", "fill-opacity": 0.06},
            },
            {
                "id": f"{source}-line",
                "type": "line",
                **base,
                "paint": {
                    "line-color": "#a78bfa",
                    "line-width": 1.6,
                    "line-dasharray": [4, 2],
                },
            },
            _label(source, 11.5, 12, "#ddd6fe", "#04101f"),
        ]


BUILTIN_LAYERS = (
    DistrictLayer(),
    UnitsLayer(),
    CommunitiesLayer(),
    MultigridsLayer(),
    GridsLayer(),
)
