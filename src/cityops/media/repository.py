"""Every query of the media module; reads pass through the caller's data scope."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.kit.scope import DataScope
from cityops.media.models import MediaPhoto


class MediaRepository:
    """Reads and writes of photo rows."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def own(self, sha256: str, uploader_id: int | None, org_code: str) -> MediaPhoto | None:
        """The row an uploader already has for this content and unit (a repeated upload)."""
        stmt = select(MediaPhoto).where(
            MediaPhoto.sha256 == sha256,
            MediaPhoto.org_code == org_code,
            MediaPhoto.uploader_id.is_(None)
            if uploader_id is None
            else MediaPhoto.uploader_id == uploader_id,
        )
        return await self.session.scalar(stmt.limit(1))

    async def visible(
        self, sha256: str, scope: DataScope, account_id: int | None
    ) -> MediaPhoto | None:
        """A row of this content inside the scope, or uploaded by the account itself."""
        mine = MediaPhoto.uploader_id == account_id if account_id is not None else None
        seen = scope.clause(MediaPhoto.org_code)
        stmt = select(MediaPhoto).where(
            MediaPhoto.sha256 == sha256, or_(seen, mine) if mine is not None else seen
        )
        return await self.session.scalar(stmt.order_by(MediaPhoto.id).limit(1))

    async def visible_set(
        self, hashes: Iterable[str], scope: DataScope, account_id: int | None
    ) -> set[str]:
        """Which of these contents the caller may see (own uploads or inside the scope)."""
        wanted = sorted(set(hashes))
        if not wanted:
            return set()
        seen = scope.clause(MediaPhoto.org_code)
        who = or_(seen, MediaPhoto.uploader_id == account_id) if account_id is not None else seen
        stmt = select(MediaPhoto.sha256).where(MediaPhoto.sha256.in_(wanted), who)
        return set((await self.session.scalars(stmt)).all())

    async def any_row(self, sha256: str) -> MediaPhoto | None:
        """Some row of this content, whoever owns it.

        Only for callers that decided access otherwise: the portal shows a case's photos to
        whoever may see the case (cityops.portal.photos checks the case first).
        """
        stmt = select(MediaPhoto).where(MediaPhoto.sha256 == sha256)
        return await self.session.scalar(stmt.order_by(MediaPhoto.id).limit(1))
