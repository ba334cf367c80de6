"""An immutable in-memory snapshot of the org tree: reference data read on every request."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.kit.scope import DataScope
from cityops.org.models import COMMUNITY_LEVELS, TOWN_LEVELS, OrgLevel, OrgUnit
from cityops.org.repository import OrgRepository


@dataclass(frozen=True, slots=True)
class OrgNode:
    """One unit as the API shows it."""

    code: str
    name: str
    level: str
    parent_code: str | None
    multigrid_code: str | None
    in_guideline_18: bool
    synthetic: bool
    division_year: int | None
    has_geometry: bool


@dataclass(slots=True)
class OrgTree:
    """Nodes by code and children by parent, built once per version.

    `memo` holds values derived from this snapshot alone (such as the API's view of a unit),
    so they are computed once per version and dropped with the snapshot.
    """

    version: str
    nodes: dict[str, OrgNode] = field(default_factory=dict)
    children_of: dict[str, list[str]] = field(default_factory=dict)
    memo: dict[Hashable, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def build(cls, version: str, units: Iterable[OrgUnit]) -> OrgTree:
        """Index units by code and parent, children in code order."""
        tree = cls(version)
        kids: dict[str, list[str]] = defaultdict(list)
        for unit in units:
            tree.nodes[unit.code] = OrgNode(
                unit.code,
                unit.name,
                unit.level,
                unit.parent_code,
                unit.multigrid_code,
                unit.in_guideline_18,
                unit.synthetic,
                unit.division_year,
                unit.geometry is not None,
            )
            if unit.parent_code is not None:
                kids[unit.parent_code].append(unit.code)
        tree.children_of = {parent: sorted(codes) for parent, codes in kids.items()}
        return tree

    def get(self, code: str) -> OrgNode | None:
        """One node, or None."""
        return self.nodes.get(code)

    def path(self, code: str) -> list[OrgNode]:
        """Ancestors of a node from the root down, excluding the node."""
        trail: list[OrgNode] = []
        node = self.nodes.get(code)
        while node is not None and node.parent_code is not None:
            node = self.nodes.get(node.parent_code)
            if node is not None:
                trail.append(node)
        return trail[::-1]

    def children(
        self, code: str, scope: DataScope, *, levels: Sequence[str] | None = None, q: str = ""
    ) -> list[OrgNode]:
        """Visible children of a node, filtered by level and a name substring."""
        result: list[OrgNode] = []
        for child_code in self.children_of.get(code, ()):
            node = self.nodes[child_code]
            if levels is not None and node.level not in levels:
                continue
            if q and q not in node.name:
                continue
            if scope.allows(child_code) or scope.covers_ancestor(child_code):
                result.append(node)
        return result

    def child_count(self, code: str) -> int:
        """How many tree children (multi-grid overlays excluded) a node has."""
        return sum(
            1
            for child in self.children_of.get(code, ())
            if self.nodes[child].level != OrgLevel.MULTIGRID
        )

    def search(
        self, q: str, scope: DataScope, *, under: str = "", limit: int = 50
    ) -> list[OrgNode]:
        """Nodes under a code whose name contains `q`, inside the scope, shortest codes first."""
        hits = [
            node
            for code, node in self.nodes.items()
            if code.startswith(under) and q in node.name and scope.allows(code)
        ]
        hits.sort(key=lambda n: (len(n.code), n.code))
        return hits[:limit]


@dataclass(frozen=True, slots=True)
class UnitCounts:
    """How many towns, communities, multi-grid units and grids, and whether any is synthetic."""

    towns: int = 0
    communities: int = 0
    multigrids: int = 0
    grids: int = 0
    synthetic_multigrids: bool = False
    synthetic_grids: bool = False


def count_units(nodes: Iterable[OrgNode]) -> UnitCounts:
    """Count units by kind in one pass (for headline figures)."""
    towns = communities = multigrids = grids = 0
    synthetic_multigrids = synthetic_grids = False
    for node in nodes:
        if node.level in TOWN_LEVELS:
            towns += 1
        elif node.level in COMMUNITY_LEVELS:
            communities += 1
        elif node.level == OrgLevel.GRID:
            grids += 1
            synthetic_grids = synthetic_grids or node.synthetic
        elif node.level == OrgLevel.MULTIGRID:
            multigrids += 1
            synthetic_multigrids = synthetic_multigrids or node.synthetic
    return UnitCounts(towns, communities, multigrids, grids, synthetic_multigrids, synthetic_grids)


class OrgTreeCache:
    """Hold the current snapshot; reload when the database's version fingerprint moves."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], check_seconds: float = 10.0):
        self._sessions = sessions
        self._check_seconds = check_seconds
        self._tree: OrgTree | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def current(self) -> OrgTree:
        """The snapshot, reloaded if stale; cheap on the hot path."""
        tree = self._tree
        if tree is not None and time.monotonic() - self._checked_at < self._check_seconds:
            return tree
        async with self._lock:
            if self._tree is None or time.monotonic() - self._checked_at >= self._check_seconds:
                await self._refresh()
        assert self._tree is not None
        return self._tree

    def invalidate(self) -> None:
        """Force the next read to check the database (after an import in this process)."""
        self._checked_at = 0.0

    async def _refresh(self) -> None:
        async with self._sessions() as session:
            repo = OrgRepository(session)
            version = await repo.tree_version()
            if self._tree is None or self._tree.version != version:
                self._tree = OrgTree.build(version, await repo.all_units(DataScope.everything()))
        self._checked_at = time.monotonic()
