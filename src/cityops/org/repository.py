"""Every query of the org module; reads pass through the data scope."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.kit.scope import DataScope, scoped
from cityops.org.models import Department, DivisionRelease, OrgLevel, OrgUnit


class OrgRepository:
    """Reads and writes of org units, departments and division releases."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all_units(self, scope: DataScope) -> Sequence[OrgUnit]:
        """Every unit inside a scope, parents before children."""
        stmt = scoped(select(OrgUnit), OrgUnit.code, scope).order_by(
            func.length(OrgUnit.code), OrgUnit.code
        )
        return (await self.session.scalars(stmt)).all()

    async def get(self, code: str) -> OrgUnit | None:
        """One unit by code, unscoped: callers check scope on the result."""
        return await self.session.get(OrgUnit, code)

    async def departments(
        self, scope: DataScope, org_code: str | None = None
    ) -> Sequence[Department]:
        """Departments inside a scope, optionally of one owner unit."""
        stmt = scoped(select(Department), Department.org_code, scope)
        if org_code is not None:
            stmt = stmt.where(Department.org_code == org_code)
        return (
            await self.session.scalars(stmt.order_by(Department.org_code, Department.key))
        ).all()

    async def department(self, department_id: int) -> Department | None:
        """One department by id, unscoped: callers check scope on the result."""
        return await self.session.get(Department, department_id)

    async def upsert_units(self, units: Iterable[OrgUnit]) -> int:
        """Insert or update units by code; return how many were written."""
        count = 0
        for unit in units:
            await self.session.merge(unit)
            count += 1
        await self.session.flush()
        return count

    async def add_departments(self, departments: Iterable[Department]) -> None:
        """Insert departments that do not exist yet (matched by owner and key)."""
        existing = {
            (d.org_code, d.key) for d in (await self.session.scalars(select(Department))).all()
        }
        self.session.add_all(d for d in departments if (d.org_code, d.key) not in existing)
        await self.session.flush()

    async def delete_synthetic_grids(self, community_codes: Iterable[str]) -> int:
        """Drop the synthetic grids of the given communities; return how many went."""
        codes = list(community_codes)
        if not codes:
            return 0
        result = await self.session.execute(
            delete(OrgUnit).where(
                OrgUnit.level == OrgLevel.GRID,
                OrgUnit.synthetic.is_(True),
                OrgUnit.parent_code.in_(codes),
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def set_multigrid(self, community_codes: Iterable[str], multigrid_code: str) -> None:
        """Record which multi-grid unit each community belongs to."""
        await self.session.execute(
            update(OrgUnit)
            .where(OrgUnit.code.in_(list(community_codes)))
            .values(multigrid_code=multigrid_code)
        )

    async def count_level(self, level: OrgLevel, under: str) -> int:
        """How many units of a level lie under a code."""
        stmt = scoped(
            select(func.count()).select_from(OrgUnit).where(OrgUnit.level == level),
            OrgUnit.code,
            DataScope.of([under]),
        )
        return int((await self.session.scalar(stmt)) or 0)

    async def releases(self, district_code: str) -> Sequence[DivisionRelease]:
        """Imported division years of a district, newest first."""
        stmt = (
            select(DivisionRelease)
            .where(DivisionRelease.district_code == district_code)
            .order_by(DivisionRelease.year.desc())
        )
        return (await self.session.scalars(stmt)).all()

    async def upsert_release(self, release: DivisionRelease) -> None:
        """Record (or refresh) the import of one district-year."""
        stmt = select(DivisionRelease).where(
            DivisionRelease.district_code == release.district_code,
            DivisionRelease.year == release.year,
        )
        existing = await self.session.scalar(stmt)
        if existing is None:
            self.session.add(release)
        else:
            existing.source = release.source
            existing.unit_count = release.unit_count
            existing.community_count = release.community_count
            existing.imported_at = release.imported_at
        await self.session.flush()

    async def tree_version(self) -> str:
        """A cheap fingerprint that changes whenever units change."""
        stmt = select(func.count(), func.max(OrgUnit.updated_at)).select_from(OrgUnit)
        count, latest = (await self.session.execute(stmt)).one()
        return f"{count}:{latest.isoformat() if latest else '-'}"
