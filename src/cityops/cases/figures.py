"""Case figures for other modules: grouped SQL aggregates over the cases an area holds.

Other modules read counts of cases here instead of querying the case tables (the overview
does). An area is where a case lies (its unit, community or grid columns), not who owns it now:
a case of 泗泾镇 escalated to the district still counts in 泗泾镇's figures — for a reader who
may see it (visibility is always `CaseAccess`, i.e. the owner inside the caller's scope). Every
query returns a handful of grouped rows as plain data; nothing walks cases one by one in Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    func,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from cityops.auth.principal import Principal
from cityops.cases.access import CaseAccess
from cityops.cases.intake.opening import OPEN_STATUSES
from cityops.cases.models import CaseEvent, CaseExtension, CaseRecord
from cityops.kit.scope import DataScope, scoped

#: The column that places a case in an area of each kind, and the one that names its children.
AREA_COLUMNS: dict[str, tuple[InstrumentedAttribute[Any] | None, InstrumentedAttribute[Any]]] = {
    "district": (None, CaseRecord.unit_code),
    "town": (CaseRecord.unit_code, CaseRecord.community_code),
    "community": (CaseRecord.community_code, CaseRecord.grid_code),
    "grid": (CaseRecord.grid_code, CaseRecord.grid_code),
}


@dataclass(frozen=True, slots=True)
class Area:
    """An area whose cases are counted: a district, town, community or grid by code."""

    code: str
    kind: str  # district | town | community | grid

    def where(self, stmt: Select[Any]) -> Select[Any]:
        """Keep the cases lying in the area."""
        column, _ = AREA_COLUMNS[self.kind]
        if column is None:  # the district: every case owned under its code
            return scoped(stmt, CaseRecord.owner_code, DataScope.of([self.code]))
        return stmt.where(column == self.code)

    @property
    def child_column(self) -> InstrumentedAttribute[Any]:
        """The column naming the child area a case lies in."""
        return AREA_COLUMNS[self.kind][1]


@dataclass(frozen=True, slots=True)
class OpenRow:
    """Open cases of one combination of child area, status, loop, overdue and supervision."""

    child: str | None
    status: str
    loop_level: str
    overdue: bool
    supervision: str | None
    count: int


@dataclass(frozen=True, slots=True)
class MultigridRow:
    """Open cases lying in one multi-grid unit, and how many of them sit at its loop."""

    code: str
    open: int
    medium_loop: int


@dataclass(frozen=True, slots=True)
class TodayRow:
    """Cases opened today of one combination of child area, source, loop and status."""

    child: str | None
    source: str
    loop_level: str
    status: str
    overdue: bool
    count: int


@dataclass(frozen=True, slots=True)
class Performance:
    """Closing figures of a period: due, closed on time, closed, mean handling hours."""

    due: int
    due_closed_on_time: int
    closed: int
    avg_handling_hours: float | None


@dataclass(frozen=True, slots=True)
class RecentCase:
    """A recently opened case as the overview lists it (no personal data)."""

    id: int
    category: str
    source: str
    status: str
    urgency: str
    overdue: bool
    owner_code: str
    unit_code: str | None
    created_at: datetime


def reader_key(principal: Principal) -> tuple[object, ...]:
    """What decides which cases a reader's figures cover (scope, role narrowing): a cache key."""
    access = CaseAccess.of(principal)
    return (
        tuple(sorted(access.scope.prefixes)),
        access.department_id,
        access.creator_id,
        access.nothing,
    )


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


class AreaFigures:
    """The case figures of one area as one reader may see them, read in the caller's session."""

    def __init__(self, session: AsyncSession, access: CaseAccess, area: Area) -> None:
        self.session = session
        self.access = access
        self.area = area

    @classmethod
    def for_reader(cls, session: AsyncSession, principal: Principal, area: Area) -> AreaFigures:
        """The figures of an area as a request's caller may see them (`CaseAccess.of`)."""
        return cls(session, CaseAccess.of(principal), area)

    def _cases(self, *columns: Any) -> Select[Any]:
        return self.area.where(self.access.apply(select(*columns).select_from(CaseRecord)))

    def _open_cases(self, *columns: Any) -> Select[Any]:
        """Visible open cases of the area, read through the (status, owner) index.

        SQLite's statistics keep no skew: ten statuses look equally common, so a ten-status IN
        looks like the whole table and it scans 500,000 rows for the ~2 % still open. On SQLite
        the term carries its real likelihood (a planner hint, not a filter); PostgreSQL keeps
        per-value statistics and needs none.
        """
        bind = self.session.bind
        if bind is not None and bind.dialect.name == "sqlite":
            statuses: BindParameter[list[str]] = bindparam(
                "open_statuses", list(OPEN_STATUSES), expanding=True
            )
            hinted = text("likelihood(case_record.status IN :open_statuses, 0.05)")
            return self._cases(*columns).where(hinted.bindparams(statuses))
        return self._cases(*columns).where(CaseRecord.status.in_(OPEN_STATUSES))

    async def open_rows(self) -> list[OpenRow]:
        """Open cases grouped by child area, status, loop, overdue and supervision."""
        c = CaseRecord
        keys = (self.area.child_column, c.status, c.loop_level, c.overdue, c.supervision)
        stmt = self._open_cases(*keys, func.count()).group_by(*keys)
        rows = await self._all(stmt)
        return [OpenRow(r[0], r[1], r[2], bool(r[3]), r[4], int(r[5])) for r in rows]

    async def open_by_multigrid(self) -> list[MultigridRow]:
        """Open cases grouped by the multi-grid unit they lie in, and whether at its loop."""
        c = CaseRecord
        medium = c.loop_level == "multigrid"
        stmt = self._open_cases(c.multigrid_code, func.count(), _count(medium))
        rows = await self._all(stmt.group_by(c.multigrid_code))
        return [MultigridRow(r[0], int(r[1]), int(r[2])) for r in rows if r[0] is not None]

    async def today_rows(self, since: datetime) -> list[TodayRow]:
        """Cases opened since `since`, grouped by child area, source, loop, status, overdue."""
        c = CaseRecord
        keys = (self.area.child_column, c.source, c.loop_level, c.status, c.overdue)
        stmt = self._cases(*keys, func.count()).where(c.created_at >= since).group_by(*keys)
        rows = await self._all(stmt)
        return [TodayRow(r[0], r[1], r[2], r[3], bool(r[4]), int(r[5])) for r in rows]

    async def closed_since(self, since: datetime) -> int:
        """Cases closed (结案) since `since`."""
        stmt = self._cases(func.count()).where(CaseRecord.closed_at >= since)
        return int(await self.session.scalar(stmt) or 0)

    async def dispatched_since(self, since: datetime) -> int:
        """Dispatches (派遣, 改派) recorded since `since` on visible cases of the area."""
        stmt = self._cases(func.count()).join(CaseEvent, CaseEvent.case_id == CaseRecord.id)
        stmt = stmt.where(CaseEvent.action.in_(("dispatch", "redispatch")), CaseEvent.at >= since)
        return int(await self.session.scalar(stmt) or 0)

    async def performance(self, since: datetime, until: datetime) -> Performance:
        """Due and on-time closings of a period, and mean handling hours of its closings.

        Two queries, each over one indexed time range (an OR of both would scan the table).
        """
        c = CaseRecord
        on_time = and_(c.closed_at.is_not(None), c.handled_at <= c.handle_due_at)
        due = self._cases(func.count(), _count(on_time))
        due = due.where(c.handle_due_at >= since, c.handle_due_at < until)
        due_row = (await self.session.execute(due)).one()
        closed = self._cases(func.count(), func.avg(c.handling_hours))
        closed = closed.where(c.closed_at >= since, c.closed_at < until)
        closed_row = (await self.session.execute(closed)).one()
        mean = None if closed_row[1] is None else round(float(closed_row[1]), 2)
        return Performance(int(due_row[0]), int(due_row[1]), int(closed_row[0]), mean)

    async def recent(self, since: datetime, limit: int) -> list[RecentCase]:
        """The newest cases opened since `since`, newest first."""
        c = CaseRecord
        columns = (
            c.id,
            c.category,
            c.source,
            c.status,
            c.urgency,
            c.overdue,
            c.owner_code,
            c.unit_code,
            c.created_at,
        )
        stmt = self._cases(*columns).where(c.created_at >= since)
        stmt = stmt.order_by(c.created_at.desc(), c.id.desc()).limit(limit)
        return [RecentCase(*row) for row in await self._all(stmt)]

    async def escalations_since(self, since: datetime) -> int:
        """Escalations (升级) recorded since `since` on visible cases of the area."""
        stmt = self._cases(func.count()).join(CaseEvent, CaseEvent.case_id == CaseRecord.id)
        stmt = stmt.where(CaseEvent.action == "escalate", CaseEvent.at >= since)
        return int(await self.session.scalar(stmt) or 0)

    async def pending_extensions(self) -> int:
        """Extension requests (延期申请) waiting for a decision."""
        stmt = self._cases(func.count()).join(CaseExtension, CaseExtension.case_id == CaseRecord.id)
        stmt = stmt.where(CaseExtension.state == "pending")
        return int(await self.session.scalar(stmt) or 0)

    async def _all(self, stmt: Select[Any]) -> Sequence[Any]:
        result: Sequence[Any] = (await self.session.execute(stmt)).all()
        return result
