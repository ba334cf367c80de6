"""Event-flow KPIs per unit, loop level and period, computed with SQL aggregates, scoped.

Definitions (period = [since, until)):
- 立案数 registered: cases registered (立案) in the period.
- 应结案数 due: cases whose handle deadline (after extensions) falls in the period.
- 结案数 closed: cases closed (结案) in the period.
- 结案率 close_rate: of the due cases, the share closed (by now).
- 按期结案率 on_time_rate: of the due cases, the share closed and handled by their deadline.
- 返工率 rework_rate: of the closed cases, the share reworked at least once (核查不通过).
- 退单率 return_rate: of the cases first dispatched in the period, the share returned at least once.
- avg_handling_hours: mean working hours from 立案 to 办结 of the closed cases.
- avg_satisfaction: mean 1–5 score of the cases evaluated (回访) in the period.
- closed_by_loop: closed cases per loop level they were closed at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from cityops.cases.access import CaseAccess
from cityops.cases.models import CaseRecord
from cityops.kit.scope import DataScope, scoped


@dataclass(frozen=True, slots=True)
class KpiQuery:
    """Which cases and which period."""

    since: datetime
    until: datetime
    unit: str | None = None
    loop_level: str | None = None


@dataclass(frozen=True, slots=True)
class Kpi:
    """The figures of one query."""

    registered: int
    due: int
    closed: int
    due_closed: int
    due_closed_on_time: int
    reworked: int
    dispatched: int
    returned: int
    evaluated: int
    avg_handling_hours: float | None
    avg_satisfaction: float | None
    closed_by_loop: dict[str, int] = field(default_factory=dict)

    @property
    def close_rate(self) -> float | None:
        """结案率: closed share of the due cases."""
        return _ratio(self.due_closed, self.due)

    @property
    def on_time_rate(self) -> float | None:
        """按期结案率: closed-on-time share of the due cases."""
        return _ratio(self.due_closed_on_time, self.due)

    @property
    def rework_rate(self) -> float | None:
        """返工率: reworked share of the closed cases."""
        return _ratio(self.reworked, self.closed)

    @property
    def return_rate(self) -> float | None:
        """退单率: returned share of the dispatched cases."""
        return _ratio(self.returned, self.dispatched)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _within(column: InstrumentedAttribute[Any], q: KpiQuery) -> ColumnElement[bool]:
    return and_(column >= q.since, column < q.until)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _visible(access: CaseAccess, q: KpiQuery) -> Select[int]:
    """The ids of the cases the figures cover: visible, under the unit, at the loop."""
    stmt = access.apply(select(CaseRecord.id))
    if q.unit:
        stmt = scoped(stmt, CaseRecord.owner_code, DataScope.of([q.unit]))
    if q.loop_level:
        stmt = stmt.where(CaseRecord.loop_level == q.loop_level)
    return stmt


async def compute(session: AsyncSession, access: CaseAccess, q: KpiQuery) -> Kpi:
    """All figures in two aggregate queries."""
    c = CaseRecord
    ids = c.id.in_(_visible(access, q))
    due = _within(c.handle_due_at, q)
    closed = _within(c.closed_at, q)
    due_closed = and_(due, c.closed_at.is_not(None))
    on_time = and_(due_closed, c.handled_at <= c.handle_due_at)
    dispatched = _within(c.dispatched_at, q)
    evaluated = and_(_within(c.evaluated_at, q), c.satisfaction.is_not(None))
    stmt = select(
        _count(_within(c.registered_at, q)),
        _count(due),
        _count(closed),
        _count(due_closed),
        _count(on_time),
        _count(and_(closed, c.reworks > 0)),
        _count(dispatched),
        _count(and_(dispatched, c.returns > 0)),
        _count(evaluated),
        func.avg(case((closed, c.handling_hours), else_=None)),
        func.avg(case((evaluated, c.satisfaction), else_=None)),
    ).where(ids)
    row = (await session.execute(stmt)).one()
    by_loop = select(c.loop_level, func.count()).where(ids, closed).group_by(c.loop_level)
    loops = {level: int(n) for level, n in (await session.execute(by_loop)).all()}
    n = [int(v or 0) for v in row[:9]]
    return Kpi(
        registered=n[0],
        due=n[1],
        closed=n[2],
        due_closed=n[3],
        due_closed_on_time=n[4],
        reworked=n[5],
        dispatched=n[6],
        returned=n[7],
        evaluated=n[8],
        avg_handling_hours=_rounded(row[9]),
        avg_satisfaction=_rounded(row[10]),
        closed_by_loop=loops,
    )


def _rounded(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)
