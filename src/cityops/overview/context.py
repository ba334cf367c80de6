"""What every part builder reads: the area, the tree, the caller's reach, the time, the facts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from cityops.cases import AreaFigures, OpenRow, Performance, TodayRow
from cityops.kit.scope import DataScope
from cityops.org.models import COMMUNITY_LEVELS, TOWN_LEVELS, OrgLevel
from cityops.org.schemas import LEVEL_LABELS
from cityops.org.tree import OrgNode, OrgTree
from cityops.overview.schemas import UnitRef
from cityops.overview.stats import DistrictStats

SHANGHAI = ZoneInfo("Asia/Shanghai")
T = TypeVar("T")

#: The overview kind of each tree level (multi-grid units have no overview of their own).
KINDS: dict[str, str] = {
    OrgLevel.DISTRICT: "district",
    **{level.value: "town" for level in TOWN_LEVELS},
    **{level.value: "community" for level in COMMUNITY_LEVELS},
    OrgLevel.GRID: "grid",
}
#: The levels of an area's children, by its kind.
CHILD_LEVELS: dict[str, tuple[str, ...]] = {
    "district": tuple(level.value for level in TOWN_LEVELS),
    "town": tuple(level.value for level in COMMUNITY_LEVELS),
    "community": (OrgLevel.GRID.value,),
    "grid": (),
}
CHILD_TITLES: dict[str, str] = {"district": "街镇", "town": "居村", "community": "网格", "grid": ""}


def unit_ref(scope: DataScope, node: OrgNode) -> UnitRef:
    """A unit named, and linked when the caller may open its overview."""
    can_open = node.level in KINDS and scope.allows(node.code)
    return UnitRef(
        code=node.code,
        name=node.name,
        level=node.level,
        level_label=LEVEL_LABELS.get(node.level, node.level),
        overview=f"/overview/{node.code}" if can_open else None,
        synthetic=node.synthetic,
    )


def day_start(now: datetime) -> datetime:
    """Midnight of `now`'s day in Shanghai, as an aware UTC-comparable instant."""
    local = now.astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


class Facts:
    """The aggregates of one computation, each read at most once (parts share them)."""

    def __init__(self, figures: AreaFigures, now: datetime) -> None:
        self.figures = figures
        self.now = now
        self.today = day_start(now)
        self._memo: dict[str, Any] = {}

    async def _once(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        if key not in self._memo:
            self._memo[key] = await load()
        value: T = self._memo[key]
        return value

    async def open_rows(self) -> list[OpenRow]:
        """Open cases, grouped."""
        return await self._once("open", self.figures.open_rows)

    async def today_rows(self) -> list[TodayRow]:
        """Today's new cases, grouped."""
        return await self._once("today", lambda: self.figures.today_rows(self.today))

    async def closed_today(self) -> int:
        """Cases closed today."""
        return await self._once("closed", lambda: self.figures.closed_since(self.today))

    async def performance(self) -> Performance:
        """Closing figures of the last 30 days."""
        since = self.now - timedelta(days=30)
        return await self._once("perf", lambda: self.figures.performance(since, self.now))


@dataclass
class PartContext:
    """The area, its tree, the caller's scope and reach, and the facts about its cases."""

    tree: OrgTree
    node: OrgNode
    kind: str
    scope: DataScope
    stats: DistrictStats
    now: datetime
    facts: Facts | None  # None: the caller may not read cases
    bounds: list[float] | None = None
    layers: list[str] = field(default_factory=list)
    permissions: frozenset[str] = frozenset()  # the caller's, for providers that need one

    def ref(self, node: OrgNode) -> UnitRef:
        """A unit named and linked (when the caller may open its overview)."""
        return unit_ref(self.scope, node)

    def children(self) -> list[OrgNode]:
        """The area's child areas inside the caller's scope."""
        levels = CHILD_LEVELS[self.kind]
        if not levels:
            return []
        return [
            n
            for n in self.tree.children(self.node.code, self.scope, levels=levels)
            if self.scope.allows(n.code)
        ]

    def name_of(self, code: str | None) -> str:
        """A unit's name, or the code when it is not in the tree."""
        if code is None:
            return "未定位"
        node = self.tree.get(code)
        return node.name if node is not None else code
