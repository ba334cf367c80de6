"""Every query of sharing, scoped: applications by the applicant's or the owner's unit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.kit.scope import DataScope, scoped
from cityops.sharing.models import ShareAccess, ShareApplication, ShareGrant


class SharingRepository:
    """Reads and writes of applications, grants and the access log; never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, application: ShareApplication) -> ShareApplication:
        """Insert an application and learn its id."""
        self.session.add(application)
        await self.session.flush()
        return application

    async def application(self, application_id: int) -> ShareApplication | None:
        """One application, whoever may see it (the service checks)."""
        return await self.session.get(ShareApplication, application_id)

    async def application_for_update(self, application_id: int) -> ShareApplication | None:
        """One application, locked until the transaction ends (two approvers never race)."""
        stmt = select(ShareApplication).where(ShareApplication.id == application_id)
        return (await self.session.scalars(stmt.with_for_update())).first()

    async def applications(
        self,
        scope: DataScope,
        *,
        as_owner: bool,
        status: str | None = None,
        kind: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[ShareApplication]:
        """Applications of units in scope (applicant side) or of owners in scope, newest first."""
        column = ShareApplication.owner_code if as_owner else ShareApplication.grantee_code
        stmt = scoped(select(ShareApplication), column, scope)
        if status is not None:
            stmt = stmt.where(ShareApplication.status == status)
        if kind is not None:
            stmt = stmt.where(ShareApplication.kind == kind)
        stmt = stmt.order_by(ShareApplication.id.desc()).limit(limit).offset(offset)
        return (await self.session.scalars(stmt)).all()

    async def grants_of(self, application_id: int) -> Sequence[ShareGrant]:
        """The grants an application created."""
        stmt = select(ShareGrant).where(ShareGrant.application_id == application_id)
        return (await self.session.scalars(stmt.order_by(ShareGrant.id))).all()

    async def grant(self, grant_id: int) -> ShareGrant | None:
        """One grant, whoever may see it (the service checks)."""
        return await self.session.get(ShareGrant, grant_id)

    async def grants(
        self, scope: DataScope, *, as_owner: bool, live_at: datetime | None, limit: int, offset: int
    ) -> Sequence[ShareGrant]:
        """Grants held by units in scope (or given by owners in scope); only live ones at a time."""
        column = ShareGrant.owner_code if as_owner else ShareGrant.grantee_code
        stmt = scoped(select(ShareGrant), column, scope)
        if live_at is not None:
            stmt = stmt.where(ShareGrant.revoked_at.is_(None), ShareGrant.expires_at > live_at)
        stmt = stmt.order_by(ShareGrant.id.desc()).limit(limit).offset(offset)
        return (await self.session.scalars(stmt)).all()

    async def revoke_grants(self, application_id: int, at: datetime) -> None:
        """Mark an application's live grants revoked."""
        await self.session.execute(
            update(ShareGrant)
            .where(ShareGrant.application_id == application_id, ShareGrant.revoked_at.is_(None))
            .values(revoked_at=at)
        )

    async def accesses(self, grant_id: int, limit: int, offset: int) -> Sequence[ShareAccess]:
        """The access log of a grant, newest first."""
        stmt = (
            select(ShareAccess)
            .where(ShareAccess.grant_id == grant_id)
            .order_by(ShareAccess.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return (await self.session.scalars(stmt)).all()
