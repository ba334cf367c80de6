"""Link tokens (R3.4): read-only, expiring URLs that open one town's page and overview remotely.

Only the SHA-256 of a token is stored. A token is never a login: it does not pass the API's
authentication at all, and only the town page's own view endpoints accept it, for its town.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth import audit
from cityops.auth.principal import Principal
from cityops.auth.roles import Role
from cityops.kit.db import utcnow
from cityops.kit.errors import Forbidden, NotFound
from cityops.kit.scope import DataScope
from cityops.townpage.models import TownLink
from cityops.townpage.repository import TownPageRepository
from cityops.townpage.schemas import LinkCreate, LinkIssued, LinkRead
from cityops.townpage.service import may_edit

PREFIX = "tpl_"
TOKEN_PATTERN = re.compile(r"tpl_[A-Za-z0-9_-]{43}")
#: The role whose reading rights a link lends: read-only (no act on a case is possible anyway).
LINK_ROLE = Role.LEADER
LINK_KIND = "town_link"


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def state_of(row: TownLink) -> str:
    """active, expired or revoked."""
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if row.expires_at <= utcnow() else "active"


def link_read(row: TownLink) -> LinkRead:
    """A link as listed."""
    return LinkRead(
        id=row.id,
        code=row.org_code,
        label=row.label,
        issued_by=row.issued_by,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        state=state_of(row),
    )


class LinkRefused(Exception):
    """Why a token does not open a page: 401 (unknown, expired) or 403 (revoked, other town)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def link_principal(row: TownLink) -> Principal:
    """The read-only reader a valid link stands for: that one town, nothing else."""
    return Principal(
        account_id=0,
        username=f"link:{row.id}",
        display_name=row.label,
        role=LINK_ROLE.value,
        org_code=row.org_code,
        department_id=None,
        scope=DataScope.of([row.org_code]),
        must_change_password=False,
        token_id=row.id,
        token_kind=LINK_KIND,
    )


async def resolve(session: AsyncSession, code: str, token: str) -> Principal:
    """The reader of a token for a town, or LinkRefused saying why not."""
    if not TOKEN_PATTERN.fullmatch(token):
        raise LinkRefused(401, "链接令牌格式不正确。")
    row = await TownPageRepository(session).link_by_hash(digest(token))
    if row is None:
        raise LinkRefused(401, "链接令牌无效。")
    if row.org_code != code:
        raise LinkRefused(403, "该链接只能打开签发它的街镇页面。")
    if row.revoked_at is not None:
        raise LinkRefused(403, "该链接已被撤销，请联系街镇城运中心重新签发。")
    if row.expires_at <= utcnow():
        raise LinkRefused(401, "该链接已过期，请联系街镇城运中心重新签发。")
    return link_principal(row)


class LinkService:
    """Issue, list and revoke a town's links (the request boundary commits)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = TownPageRepository(session)

    def _check(self, principal: Principal, code: str) -> None:
        if not may_edit(principal, code):
            raise Forbidden("only the town's own operator or a district officer manages its links")

    async def issue(
        self, principal: Principal, code: str, body: LinkCreate, base: str, client_ip: str = ""
    ) -> LinkIssued:
        """A new token (shown once) and its absolute URLs under `base` (the server's origin)."""
        self._check(principal, code)
        token = PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        row = TownLink(
            org_code=code,
            token_hash=digest(token),
            label=body.label,
            issued_by=principal.username,
            issued_by_id=principal.account_id,
            issued_at=now,
            expires_at=now + timedelta(hours=body.hours),
        )
        await self.repo.add(row)
        await self._audit(principal, "townpage.link.issue", code, row, client_ip)
        origin = base.rstrip("/")  # the link is opened elsewhere: it is sent whole
        return LinkIssued(
            **link_read(row).model_dump(),
            token=token,
            page_url=f"{origin}/towns/{code}/page?token={token}",
            overview_url=f"{origin}/overview/{code}?token={token}",
        )

    async def list(self, principal: Principal, code: str) -> list[LinkRead]:
        """The town's links, newest first."""
        self._check(principal, code)
        return [link_read(row) for row in await self.repo.links(code, principal.scope)]

    async def revoke(
        self, principal: Principal, code: str, link_id: int, client_ip: str = ""
    ) -> LinkRead:
        """Revoke a link at once (revoking twice keeps the first time); audited."""
        self._check(principal, code)
        row = await self.repo.link(code, link_id, principal.scope)
        if row is None:
            raise NotFound("link", link_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            row.revoked_by = principal.username
            await self.repo.add(row)
        await self._audit(principal, "townpage.link.revoke", code, row, client_ip)
        return link_read(row)

    async def _audit(
        self, principal: Principal, action: str, code: str, row: TownLink, client_ip: str
    ) -> None:
        detail = {"link": row.id, "label": row.label, "expires_at": row.expires_at.isoformat()}
        await audit.record(
            self.session,
            action=action,
            result="success",
            actor=principal,
            target=code,
            client_ip=client_ip,
            detail=detail,
        )
