"""The overview service: resolve an area in the caller's scope and compute (or reuse) its parts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

import shapely
from shapely.geometry import shape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.cases import Area, AreaFigures, reader_key
from cityops.kit.db import utcnow
from cityops.kit.errors import NotFound, OutOfScope, ProblemError
from cityops.org.repository import OrgRepository
from cityops.org.schemas import LEVEL_LABELS
from cityops.org.tree import OrgNode, OrgTree, OrgTreeCache
from cityops.overview import parts_live, parts_static
from cityops.overview.cache import CacheKey, PartCache
from cityops.overview.context import KINDS, Facts, PartContext, unit_ref
from cityops.overview.labels import STATIC_PARTS, PartKey
from cityops.overview.providers import (
    AreaQuery,
    permission_of,
    provider_of,
    provider_permissions,
)
from cityops.overview.schemas import OverviewRead, Part
from cityops.overview.stats import district_stats

Builder = Callable[[PartContext], Awaitable[Part]]
CacheUse = Literal["hit", "partial", "miss", "bypass"]


async def _static(build: Callable[[PartContext], Part], ctx: PartContext) -> Part:
    return build(ctx)


BUILDERS: dict[PartKey, Builder] = {
    PartKey.AREA: lambda ctx: _static(parts_static.area_part, ctx),
    PartKey.POPULATION: lambda ctx: _static(parts_static.population_part, ctx),
    PartKey.ECONOMY: lambda ctx: _static(parts_static.economy_part, ctx),
    PartKey.CITY_OPERATION: parts_live.city_operation_part,
    PartKey.MULTIGRID: parts_live.multigrid_part,
    PartKey.EVENT_FLOW: parts_live.event_flow_part,
    PartKey.VIDEO: parts_live.video_part,
    PartKey.MAP: parts_live.map_part,
    PartKey.COMMAND: parts_live.command_part,
    PartKey.DISPATCH: parts_live.dispatch_part,
}
_COMMON = (
    PartKey.AREA,
    PartKey.POPULATION,
    PartKey.ECONOMY,
    PartKey.CITY_OPERATION,
    PartKey.MULTIGRID,
    PartKey.EVENT_FLOW,
    PartKey.VIDEO,
    PartKey.MAP,
)
#: The nine parts of each kind of area: the district commands, a town (and below) dispatches.
PARTS: dict[str, tuple[PartKey, ...]] = {
    "district": (*_COMMON, PartKey.COMMAND),
    "town": (*_COMMON, PartKey.DISPATCH),
    "community": (*_COMMON, PartKey.DISPATCH),
    "grid": (*_COMMON, PartKey.DISPATCH),
}
#: The map layers shown for each kind of area (the case layer only to case readers).
MAP_LAYERS: dict[str, tuple[str, ...]] = {
    "district": ("district", "units"),
    "town": ("units", "communities"),
    "community": ("communities", "grids"),
    "grid": ("communities", "grids"),
}


def live_parts(kind: str) -> list[str]:
    """The parts of an area that case events change."""
    return [p.value for p in PARTS[kind] if p not in STATIC_PARTS]


def access_key(principal: Principal) -> tuple[object, ...]:
    """What decides what a caller's figures cover: scope, role narrowing, providers' grants."""
    held = tuple(sorted(p for p in provider_permissions() if p in principal.permissions))
    if not principal.can(Perm.CASE_READ):
        return (tuple(sorted(principal.scope.prefixes)), "no-cases", held)
    return (*reader_key(principal), held)


def parse_parts(text: str | None, kind: str) -> list[PartKey]:
    """The parts asked for (all of the kind's by default); 422 for a part the kind has not."""
    allowed = PARTS[kind]
    if text is None or not text.strip():
        return list(allowed)
    wanted = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in wanted if p not in {a.value for a in allowed}]
    if unknown or len(wanted) > len(allowed):
        names = ", ".join(a.value for a in allowed)
        message = f"unknown part(s) {', '.join(p[:32] for p in unknown)}; a {kind} has: {names}"
        errors = [{"loc": ["query", "parts"], "msg": message, "type": "part"}]
        raise ProblemError(422, "validation", message, errors=errors)
    return [PartKey(p) for p in dict.fromkeys(wanted)]


def resolve_area(tree: OrgTree, principal: Principal, code: str) -> tuple[OrgNode, str]:
    """The area's node and kind; 404 when unknown (or a multi-grid unit), 403 out of scope."""
    node = tree.get(code)
    if node is None:
        raise NotFound("org unit", code)
    kind = KINDS.get(node.level)
    if kind is None:
        raise ProblemError(
            404,
            "not-found",
            f"{code} is a multi-grid unit: it has no overview of its own; see its town",
            key=code,
        )
    if not principal.scope.allows(code):
        raise OutOfScope(code)
    return node, kind


class OverviewService:
    """Compute overviews through the part cache, one computation per key at a time."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        tree: OrgTreeCache,
        cache: PartCache,
        district_code: str,
    ) -> None:
        self.sessions = sessions
        self.tree = tree
        self.cache = cache
        self.district_code = district_code
        self._flights: dict[tuple[object, ...], asyncio.Task[dict[PartKey, Part]]] = {}

    async def overview(
        self, principal: Principal, code: str, parts: str | None = None, *, use_cache: bool = True
    ) -> OverviewRead:
        """The overview of an area the caller may see, with the parts asked for."""
        tree = await self.tree.current()
        node, kind = resolve_area(tree, principal, code)
        wanted = parse_parts(parts, kind)
        akey = access_key(principal)
        found: dict[PartKey, Part] = {}
        if use_cache and self.cache.enabled:
            for key in wanted:
                part = self.cache.get(CacheKey(code, akey, key.value, tree.version))
                if part is not None:
                    found[key] = part
        missing = [k for k in wanted if k not in found]
        if missing:
            found.update(
                await self._computed(tree, node, kind, principal, akey, missing, use_cache)
            )
        state: CacheUse = (
            "bypass"
            if not use_cache or not self.cache.enabled
            else ("hit" if not missing else "partial" if len(missing) < len(wanted) else "miss")
        )
        return OverviewRead(
            code=node.code,
            name=node.name,
            level=node.level,
            level_label=LEVEL_LABELS.get(node.level, node.level),
            kind=kind,
            crumbs=[unit_ref(principal.scope, n) for n in [*tree.path(code), node]],
            parts={k.value: found[k] for k in wanted},
            cache=state,
        )

    async def _computed(
        self,
        tree: OrgTree,
        node: OrgNode,
        kind: str,
        principal: Principal,
        akey: tuple[object, ...],
        keys: Sequence[PartKey],
        use_cache: bool,
    ) -> dict[PartKey, Part]:
        """Compute parts; callers asking for the same ones at once share one computation."""
        if not use_cache:
            return await self._compute(tree, node, kind, principal, akey, keys, store=False)
        flight = (node.code, akey, tuple(keys), tree.version)
        task = self._flights.get(flight)
        if task is None:
            task = asyncio.create_task(
                self._compute(tree, node, kind, principal, akey, keys, store=True)
            )
            self._flights[flight] = task
            task.add_done_callback(lambda _t: self._flights.pop(flight, None))
        return await asyncio.shield(task)  # a caller that goes away leaves it to the others

    async def _compute(
        self,
        tree: OrgTree,
        node: OrgNode,
        kind: str,
        principal: Principal,
        akey: tuple[object, ...],
        keys: Sequence[PartKey],
        *,
        store: bool,
    ) -> dict[PartKey, Part]:
        generation = self.cache.generation
        now = utcnow()
        async with self.sessions() as session:
            reads_cases = principal.can(Perm.CASE_READ)
            figures = AreaFigures.for_reader(session, principal, Area(node.code, kind))
            ctx = PartContext(
                tree=tree,
                node=node,
                kind=kind,
                scope=principal.scope,
                stats=district_stats(self.district_code),
                now=now,
                facts=Facts(figures, now) if reads_cases else None,
                permissions=frozenset(p.value for p in principal.permissions),
            )
            if PartKey.MAP in keys:
                ctx.bounds = await area_bounds(session, tree, node)
                ctx.layers = [*MAP_LAYERS[kind], *(["cases"] if reads_cases else [])]
            result = {key: await _filled(await BUILDERS[key](ctx), ctx, session) for key in keys}
        if store:
            for key, part in result.items():
                self.cache.put(CacheKey(node.code, akey, key.value, tree.version), part, generation)
        return result


async def _filled(part: Part, ctx: PartContext, session: AsyncSession) -> Part:
    """The part with what a landed module adds (see `providers`); unchanged without one."""
    provider = provider_of(part.key)
    if provider is None:
        return part
    needed = permission_of(provider)
    if needed is not None and needed not in ctx.permissions:
        return part  # the caller may not read the module's data: the part as the cases fill it
    query = AreaQuery(ctx.node.code, ctx.kind, ctx.scope, ctx.now, session, ctx.permissions)
    provided = await provider.data(query)
    waited = provider.module in part.missing
    return part.model_copy(
        update={
            "status": "live" if part.status == "not_available" and waited else part.status,
            "missing": [m for m in part.missing if m != provider.module],
            "note": f"{provider.module}已接入，本部分含其提供的数据。",
            "data": {**part.data, "provided": provided},
        }
    )


async def area_bounds(session: AsyncSession, tree: OrgTree, node: OrgNode) -> list[float] | None:
    """The WGS84 bounds of an area's polygon (its parent's when it has none), remembered per tree."""
    memo_key = ("overview-bounds", node.code)
    if memo_key in tree.memo:
        cached: list[float] | None = tree.memo[memo_key]
        return cached
    bounds: list[float] | None = None
    current: OrgNode | None = node
    repo = OrgRepository(session)
    while current is not None and bounds is None:
        unit = await repo.get(current.code)
        if unit is not None and unit.geometry:
            geometry = shape(json.loads(unit.geometry))
            bounds = [round(float(v), 6) for v in shapely.bounds(geometry).tolist()]
        current = tree.get(current.parent_code) if current.parent_code else None
    tree.memo[memo_key] = bounds
    return bounds
