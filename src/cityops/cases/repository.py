"""Every query of the cases module; reads of cases pass through the caller's access."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases.access import CaseAccess
from cityops.cases.models import CaseEvent, CaseExtension, CaseRecord, CaseTimer, RoutingRule
from cityops.kit.scope import DataScope, scoped
from cityops.org.models import Department


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """List filters of GET /api/v1/cases."""

    statuses: tuple[str, ...] = ()
    source: str | None = None
    category: str | None = None
    loop_level: str | None = None
    unit: str | None = None  # owner code prefix
    overdue: bool | None = None
    supervised: bool | None = None
    created_since: datetime | None = None
    created_until: datetime | None = None


class CaseRepository:
    """Reads and writes of cases, their timeline, extensions and routing rules."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(
        self, access: CaseAccess, case_id: int, *, for_update: bool = False
    ) -> CaseRecord | None:
        """One case if the access sees it; locked for the transaction when asked."""
        stmt = access.apply(select(CaseRecord).where(CaseRecord.id == case_id))
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt.execution_options(populate_existing=True))

    async def by_source_key(self, source: str, source_key: str) -> CaseRecord | None:
        """The case already opened for a source key, wherever it is (idempotent intake)."""
        stmt = CaseAccess.everything().apply(
            select(CaseRecord).where(
                CaseRecord.source == source, CaseRecord.source_key == source_key
            )
        )
        return await self.session.scalar(stmt)

    async def list(
        self, access: CaseAccess, where: CaseFilter, limit: int, offset: int
    ) -> tuple[Sequence[CaseRecord], int]:
        """A page of visible cases, newest first, and how many match."""
        stmt = access.apply(select(CaseRecord))
        stmt = _filtered(stmt, where)
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        page = stmt.order_by(CaseRecord.id.desc()).limit(limit).offset(offset)
        return (await self.session.scalars(page)).all(), int(total or 0)

    async def near(
        self,
        access: CaseAccess,
        category: str,
        box: tuple[float, float, float, float],
        window: tuple[datetime, datetime],
        open_statuses: Sequence[str],
        exclude: int | None = None,
    ) -> Sequence[CaseRecord]:
        """Open visible cases of a category inside a lon/lat box, reported within a window."""
        west, south, east, north = box
        stmt = access.apply(
            select(CaseRecord).where(
                CaseRecord.category == category,
                CaseRecord.status.in_(list(open_statuses)),
                CaseRecord.created_at.between(*window),
                CaseRecord.lon.between(west, east),
                CaseRecord.lat.between(south, north),
            )
        )
        if exclude is not None:
            stmt = stmt.where(CaseRecord.id != exclude)
        return (await self.session.scalars(stmt.order_by(CaseRecord.id).limit(50))).all()

    async def next_seq(self, case_id: int) -> int:
        """The sequence number of a case's next timeline entry."""
        stmt = select(func.max(CaseEvent.seq)).where(CaseEvent.case_id == case_id)
        return int(await self.session.scalar(stmt) or 0) + 1

    async def timeline(self, access: CaseAccess, case_id: int) -> Sequence[CaseEvent]:
        """A visible case's timeline, oldest first."""
        stmt = access.apply(
            select(CaseEvent)
            .join(CaseRecord, CaseRecord.id == CaseEvent.case_id)
            .where(CaseEvent.case_id == case_id)
        )
        return (await self.session.scalars(stmt.order_by(CaseEvent.seq))).all()

    async def timers_of(self, case_ids: Sequence[int]) -> dict[int, Sequence[CaseTimer]]:
        """The SLA timers of cases the caller already loaded through its access, by case id."""
        if not case_ids:
            return {}
        stmt = select(CaseTimer).where(CaseTimer.case_id.in_(list(case_ids)))
        rows = (await self.session.scalars(stmt.order_by(CaseTimer.id))).all()
        return {i: [t for t in rows if t.case_id == i] for i in case_ids}

    async def pending_extension(self, case_id: int) -> CaseExtension | None:
        """The open extension request of a case, if any."""
        stmt = select(CaseExtension).where(
            CaseExtension.case_id == case_id, CaseExtension.state == "pending"
        )
        return await self.session.scalar(stmt)

    async def department(self, department_id: int) -> Department | None:
        """One department by id (the caller checks it belongs to the case's owner chain)."""
        return await self.session.get(Department, department_id)

    async def departments(self, ids: Sequence[int]) -> dict[int, Department]:
        """Departments by id (for showing where cases went)."""
        if not ids:
            return {}
        rows = await self.session.scalars(select(Department).where(Department.id.in_(list(ids))))
        return {d.id: d for d in rows.all()}

    async def department_by_key(self, org_code: str, key: str) -> Department | None:
        """The department with a key owned by a unit."""
        stmt = scoped(
            select(Department).where(Department.org_code == org_code, Department.key == key),
            Department.org_code,
            DataScope.of([org_code]),
        )
        return await self.session.scalar(stmt)

    async def rules(self, scope: DataScope) -> Sequence[RoutingRule]:
        """Routing rules inside a scope, oldest first."""
        stmt = scoped(select(RoutingRule), RoutingRule.owner_code, scope)
        return (await self.session.scalars(stmt.order_by(RoutingRule.id))).all()

    async def rule(self, scope: DataScope, rule_id: int) -> RoutingRule | None:
        """One routing rule inside a scope."""
        stmt = scoped(
            select(RoutingRule).where(RoutingRule.id == rule_id), RoutingRule.owner_code, scope
        )
        return await self.session.scalar(stmt)

    async def delete_rule(self, rule: RoutingRule) -> None:
        """Remove a routing rule."""
        await self.session.execute(delete(RoutingRule).where(RoutingRule.id == rule.id))


def _filtered(stmt: Select[CaseRecord], where: CaseFilter) -> Select[CaseRecord]:
    """Apply the list filters; the unit prefix goes through the scope helper too."""
    if where.statuses:
        stmt = stmt.where(CaseRecord.status.in_(list(where.statuses)))
    if where.source:
        stmt = stmt.where(CaseRecord.source == where.source)
    if where.category:
        stmt = stmt.where(CaseRecord.category == where.category)
    if where.loop_level:
        stmt = stmt.where(CaseRecord.loop_level == where.loop_level)
    if where.unit:
        stmt = scoped(stmt, CaseRecord.owner_code, DataScope.of([where.unit]))
    if where.overdue is not None:
        stmt = stmt.where(CaseRecord.overdue.is_(where.overdue))
    if where.supervised is not None:
        has = CaseRecord.supervision.is_not(None)
        stmt = stmt.where(has if where.supervised else CaseRecord.supervision.is_(None))
    if where.created_since is not None:
        stmt = stmt.where(CaseRecord.created_at >= where.created_since)
    if where.created_until is not None:
        stmt = stmt.where(CaseRecord.created_at < where.created_until)
    return stmt
