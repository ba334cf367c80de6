"""What the map endpoints and the embeddable page share: per-app state and request checks."""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from fastapi import Request

from cityops.auth.principal import Principal
from cityops.geo import crs as crs_module
from cityops.geo.layers import Layer, LayerContext, registry
from cityops.geo.map.style import DRAWINGS
from cityops.geo.map.tiles import TileCache
from cityops.geo.org_layers import org_tables
from cityops.kit.errors import Forbidden, ProblemError


@dataclass(slots=True)
class MapState:
    """The map platform's per-app state: the layers' context and the tile cache."""

    context: LayerContext
    tiles: TileCache


def map_state(request: Request) -> MapState:
    """The app's map state, made on first use."""
    state: MapState | None = getattr(request.app.state, "map", None)
    if state is None:
        app_state = request.app.state
        context = LayerContext(app_state.sessions, app_state.org_tree, app_state.settings)
        state = MapState(context, TileCache())
        request.app.state.map = state
    return state


def problem(status: int, field: list[str], message: str, kind: str) -> ProblemError:
    """A 404 or 422 problem naming the field at fault."""
    slug = "not-found" if status == 404 else "validation"
    errors = [{"loc": field, "msg": message, "type": kind}]
    return ProblemError(status, slug, message, errors=errors)


def readable_layer(name: str, principal: Principal) -> Layer:
    """A registered layer the caller may read; 404 for an unknown name, 403 when not allowed."""
    layer = registry.get(name)
    if layer is None:
        known = ", ".join(registry.names())
        message = f"no map layer {name[:64]!r}; known: {known}"
        raise problem(404, ["path", "layer"], message, "layer")
    if not layer.visible_to(principal):
        raise Forbidden(f"your role ({principal.role}) may not read the {name} layer")
    return layer


def resolved_crs(name: str, loc: list[str]) -> str:
    """A CRS name made canonical, or a 422 problem."""
    try:
        return crs_module.resolve_crs(name)
    except crs_module.CRSError as exc:
        raise problem(422, loc, str(exc), "crs") from exc


def chosen_layers(names: str | None, principal: Principal) -> tuple[list[Layer], bool]:
    """The layers named in a comma list (all readable ones by default) and whether drawings."""
    if names is None:
        return [layer for layer in registry if layer.visible_to(principal)], True
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n != DRAWINGS and n not in registry]
    if unknown:
        known = ", ".join([*registry.names(), DRAWINGS])
        message = f"unknown layer(s) {', '.join(n[:32] for n in unknown)}; known: {known}"
        raise problem(422, ["query", "layers"], message, "layer")
    chosen = [layer for layer in registry if layer.name in wanted and layer.visible_to(principal)]
    return chosen, DRAWINGS in wanted


async def district_bounds(ctx: LayerContext) -> list[float] | None:
    """The district outline's WGS84 bounds, if the district has one."""
    table = (await org_tables(ctx)).tables["district"]
    if len(table) == 0:
        return None
    return [round(float(v), 6) for v in shapely.total_bounds(table.batch.wgs84)]
