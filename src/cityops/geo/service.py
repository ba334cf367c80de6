"""Geo rules over the org tree: write approximate boundaries where no official one exists."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

from shapely.geometry import mapping
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.geo.boundaries import GeneratedBoundary, district_outline, generate_boundaries
from cityops.geo.lookup import Area, DivisionIndex
from cityops.kit.scope import DataScope
from cityops.org.models import TOWN_LEVELS, OrgLevel
from cityops.org.repository import OrgRepository
from cityops.org.tree import OrgTreeCache


async def ensure_approximate_boundaries(session: AsyncSession, district_code: str) -> int:
    """Write the district outline and generated boundaries where no imported one exists.

    The outline is the shipped one (rounded to about 100 m, see data/README.md), so it is
    marked approximate too.
    """
    repo = OrgRepository(session)
    units = await repo.all_units(DataScope.of([district_code]))
    children: dict[str, list[str]] = defaultdict(list)
    town_codes: list[str] = []
    for unit in units:
        if unit.level in TOWN_LEVELS:
            town_codes.append(unit.code)
        elif unit.level != OrgLevel.MULTIGRID and unit.parent_code and unit.level != "district":
            children[unit.parent_code].append(unit.code)
    by_code = {unit.code: unit for unit in units}
    written = 0
    outline = GeneratedBoundary(district_code, dict(mapping(district_outline(district_code))))
    for boundary in [outline, *generate_boundaries(district_code, town_codes, children)]:
        unit = by_code[boundary.code]
        if unit.geometry is not None and not unit.geometry_approximate:
            continue  # an imported, official boundary is never overwritten
        text = json.dumps(boundary.geometry, separators=(",", ":"))
        if unit.geometry != text:
            unit.geometry = text
            unit.geometry_approximate = True
            written += 1
    await session.flush()
    return written


async def load_division_index(session: AsyncSession, district_code: str) -> DivisionIndex:
    """Build the lookup index from the polygons (and multi-grid names) stored in the tree."""
    units = await OrgRepository(session).all_units(DataScope.of([district_code]))
    return DivisionIndex(
        Area(
            u.code,
            u.name,
            u.level,
            u.parent_code,
            u.multigrid_code,
            u.geometry_approximate or u.synthetic,
            u.geometry or "null",
        )
        for u in units
        if u.geometry is not None or u.level == OrgLevel.MULTIGRID
    )


class DivisionIndexCache:
    """Hold a DivisionIndex built for the current org-tree version; rebuild when it moves."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], tree: OrgTreeCache, district_code: str
    ) -> None:
        self._sessions = sessions
        self._tree = tree
        self._district = district_code
        self._built_for: str | None = None
        self._index: DivisionIndex | None = None
        self._lock = asyncio.Lock()

    async def current(self) -> DivisionIndex:
        """The index for the tree's current version."""
        version = (await self._tree.current()).version
        if self._index is not None and self._built_for == version:
            return self._index
        async with self._lock:
            if self._index is None or self._built_for != version:
                async with self._sessions() as session:
                    self._index = await load_division_index(session, self._district)
                self._built_for = version
        return self._index
