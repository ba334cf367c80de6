"""The `cases` map layer: open cases (未结案件), seen exactly as the case API shows them.

Tiles exist at every zoom the map can take, so the hall display (fitted to the whole district
at zoom 9) shows its cases too: below zoom 12 they are drawn as a heat map (density, weighted up
for overdue and urgent cases), from zoom 11 on as points; the two cross-fade over zoom 11–12.

It reads `case_record` through the cases module's own visibility rule (`CaseAccess`: the
owner code in the caller's scope, narrowed for department handlers and system clients) and
needs `case.read`. Cases own it (geo must not depend on cases) and name it in their manifest
(`map_layers`), like any module's layer; the app puts it in geo's registry.

Tiles carry no case text or reporter data: the id as `code`, a short name, category, status,
urgency and the overdue flag. The data version is the newest case id plus a 15-second time
bucket (status changes carry no cheap index), so a cached case tile is at most 15 s stale.
"""

from __future__ import annotations

import time
from typing import Any, cast

from shapely import points
from sqlalchemy import Select, func, select

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.geo.layers import (
    BaseLayer,
    BBox,
    FeatureBatch,
    GeometryKind,
    LayerContext,
    StyleLayer,
    scope_key,
)

#: Seconds a case tile may be served from cache before the layer's version moves on.
STALE_SECONDS = 15
MAX_CASES_PER_TILE = 5000
#: The zoom from which cases are drawn as points (the heat map fades out over the next zoom).
POINTS_FROM = 11


class CasesLayer(BaseLayer):
    """Open cases as points, scoped as the case API scopes them."""

    name = "cases"
    title = "未结案件"
    geometry = GeometryKind.POINT
    min_zoom = 0
    max_zoom = 16
    order = 300
    color = "#f87171"

    def visible_to(self, principal: Principal) -> bool:
        """Readers of cases only."""
        return principal.can(Perm.CASE_READ)

    def scope_key(self, principal: Principal) -> str:
        """The scope plus the role's narrowing (department handlers, system clients)."""
        from cityops.cases.access import CaseAccess

        access = CaseAccess.of(principal)
        narrowing = f"d{access.department_id}:c{access.creator_id}:{access.nothing}"
        return f"{scope_key(access.scope)}|{narrowing}"

    async def version(self, ctx: LayerContext) -> str:
        """The newest case id and the current 15-second bucket."""
        from cityops.cases.models import CaseRecord

        async with ctx.sessions() as session:
            newest = await session.scalar(select(func.max(CaseRecord.id)))
        return f"{newest or 0}:{int(time.time() // STALE_SECONDS)}"

    async def features(
        self, ctx: LayerContext, bbox: BBox | None, principal: Principal, version: str
    ) -> FeatureBatch:
        """The caller's open cases with a location in the box."""
        from cityops.cases.access import CaseAccess
        from cityops.cases.flow.table import FINAL
        from cityops.cases.models import CaseRecord

        stmt = select(
            CaseRecord.id,
            CaseRecord.lon,
            CaseRecord.lat,
            CaseRecord.category,
            CaseRecord.status,
            CaseRecord.urgency,
            CaseRecord.overdue,
            CaseRecord.unit_code,
        ).where(
            CaseRecord.status.not_in([s.value for s in FINAL]),
            CaseRecord.lon.is_not(None),
            CaseRecord.lat.is_not(None),
        )
        if bbox is not None:
            west, south, east, north = bbox.wgs84
            stmt = stmt.where(
                CaseRecord.lon.between(west, east), CaseRecord.lat.between(south, north)
            )
        visible = CaseAccess.of(principal).apply(cast("Select[Any]", stmt))
        stmt = visible.order_by(CaseRecord.id).limit(MAX_CASES_PER_TILE)
        async with ctx.sessions() as session:
            rows = (await session.execute(stmt)).all()
        if not rows:
            return FeatureBatch.empty()
        props = [
            {
                "code": str(r.id),
                "name": f"案件 {r.id}",
                "category": r.category,
                "status": r.status,
                "urgency": r.urgency,
                "overdue": bool(r.overdue),
                "unit_code": r.unit_code,
            }
            for r in rows
        ]
        return FeatureBatch.from_wgs84(points([r.lon for r in rows], [r.lat for r in rows]), props)

    def style_layers(self, source: str, principal: Principal) -> list[StyleLayer]:
        """Heat below zoom 12, then red dots, larger and ringed when overdue or urgent."""
        base = {"source": source, "source-layer": self.name}
        hot = ["any", ["get", "overdue"], ["!=", ["get", "urgency"], "normal"]]
        fade_in = ["interpolate", ["linear"], ["zoom"], POINTS_FROM, 0.35, POINTS_FROM + 1, 1]
        return [
            {
                "id": f"{source}-heat",
                "type": "heatmap",
                **base,
                "maxzoom": POINTS_FROM + 1,
                "paint": {
                    "heatmap-weight": ["case", hot, 1.0, 0.6],
                    "heatmap-intensity": ["interpolate", ["linear"], ["zoom"], 0, 0.3, 12, 1.2],
                    "heatmap-radius": ["interpolate", ["linear"], ["zoom"], 0, 4, 9, 14, 12, 24],
                    "heatmap-opacity": [
                        "interpolate",
                        ["linear"],
                        ["zoom"],
                        POINTS_FROM,
                        0.85,
                        POINTS_FROM + 1,
                        0,
                    ],
                    "heatmap-color": [
                        "interpolate",
                        ["linear"],
                        ["heatmap-density"],
                        0,
                        "rgba(251,146,60,0)",
                        0.15,
                        "rgba(251,146,60,0.55)",
                        0.5,
                        "#f97316",
                        0.8,
                        "#ef4444",
                        1,
                        "#fee2e2",
                    ],
                },
            },
            {
                "id": f"{source}-circle",
                "type": "circle",
                **base,
                "minzoom": POINTS_FROM,
                "paint": {
                    "circle-radius": ["case", hot, 7, 5],
                    "circle-color": ["case", ["get", "overdue"], "#ef4444", "#fb923c"],
                    "circle-stroke-color": ["case", hot, "#fee2e2", "#1f0a10"],
                    "circle-stroke-width": 1.5,
                    "circle-opacity": fade_in,
                    "circle-stroke-opacity": fade_in,
                },
            },
        ]


#: The layer the cases manifest gives the map's registry.
CASES_LAYER = CasesLayer()
