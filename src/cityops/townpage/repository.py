"""Reads and writes of town pages and link tokens, always for one town code."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.kit.scope import DataScope, scoped
from cityops.townpage.models import TownLink, TownPage

#: At most this many links are listed per town (newest first).
LIST_LIMIT = 200


class TownPageRepository:
    """Town pages and links inside one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(self, code: str, scope: DataScope) -> TownPage | None:
        """The saved page of a town in the scope, or None."""
        stmt = scoped(select(TownPage).where(TownPage.org_code == code), TownPage.org_code, scope)
        return (await self.session.scalars(stmt)).one_or_none()

    async def add(self, row: TownPage | TownLink) -> None:
        """Insert a row now (so a unique clash surfaces inside the request)."""
        self.session.add(row)
        await self.session.flush()

    async def links(self, code: str, scope: DataScope) -> Sequence[TownLink]:
        """A town's links, newest first."""
        stmt = select(TownLink).where(TownLink.org_code == code)
        stmt = scoped(stmt, TownLink.org_code, scope).order_by(TownLink.id.desc())
        return (await self.session.scalars(stmt.limit(LIST_LIMIT))).all()

    async def link(self, code: str, link_id: int, scope: DataScope) -> TownLink | None:
        """One link of a town, or None."""
        stmt = select(TownLink).where(TownLink.org_code == code, TownLink.id == link_id)
        return (await self.session.scalars(scoped(stmt, TownLink.org_code, scope))).one_or_none()

    async def link_by_hash(self, digest: str) -> TownLink | None:
        """The link a token's hash names (any town: the caller checks which), or None."""
        stmt = select(TownLink).where(TownLink.token_hash == digest)
        return (await self.session.scalars(stmt)).one_or_none()
