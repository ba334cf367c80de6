"""The check every read path makes: which grants does the caller's unit hold, and log each use.

Grants are read from the database on every call (one indexed query, see bench/sharing_check.py),
so a revocation committed by any worker is refused by every worker on its next request: there is
no cache to invalidate. A unit holds the grants made to it and to the units above it (a grant to
a town covers its communities' accounts, as a town's own data does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth.principal import Principal
from cityops.kit.db import utcnow
from cityops.sharing.models import ShareAccess, ShareGrant


@dataclass(frozen=True, slots=True)
class Grant:
    """A live grant of one resource: which keys (None: all), which data times, until when."""

    id: int
    kind: str
    resource_id: str
    owner_code: str
    grantee_code: str
    keys: frozenset[str] | None
    data_from: datetime | None
    data_until: datetime | None
    expires_at: datetime

    def covers_key(self, key: str | None) -> bool:
        """Whether the grant includes a data key (None asks about the resource itself)."""
        return key is None or self.keys is None or key in self.keys

    def covers_time(self, at: datetime | None) -> bool:
        """Whether data stamped `at` lies in the granted window (None: no data time asked)."""
        if at is None:
            return True
        if self.data_from is not None and at < self.data_from:
            return False
        return self.data_until is None or at <= self.data_until

    def permits(self, key: str | None, at: datetime | None) -> bool:
        """Whether the grant lets its holder read `key` of data stamped `at`."""
        return self.covers_key(key) and self.covers_time(at)


def units_above(org_code: str) -> list[str]:
    """The codes a grant to which covers an account of `org_code`: itself and its ancestors."""
    lengths = (6, 9, 12)  # district, street/town, community (GB/T 10114 style)
    return [org_code[:n] for n in lengths if n < len(org_code)] + [org_code]


#: The columns a Grant is made of, read as plain rows (no ORM objects on the hot path).
_COLUMNS = (
    ShareGrant.id,
    ShareGrant.kind,
    ShareGrant.resource_id,
    ShareGrant.owner_code,
    ShareGrant.grantee_code,
    ShareGrant.keys,
    ShareGrant.data_from,
    ShareGrant.data_until,
    ShareGrant.expires_at,
)


def _grant_of(row: Sequence[Any]) -> Grant:
    keys = row[5]
    return Grant(
        id=row[0],
        kind=row[1],
        resource_id=row[2],
        owner_code=row[3],
        grantee_code=row[4],
        keys=frozenset(keys) if keys is not None else None,
        data_from=row[6],
        data_until=row[7],
        expires_at=row[8],
    )


async def active_grants(
    session: AsyncSession,
    grantee_code: str,
    kind: str,
    now: datetime | None = None,
    resource_ids: Iterable[str] | None = None,
) -> list[Grant]:
    """The unrevoked, unexpired grants of a kind held by a unit (optionally for some resources)."""
    stmt = select(*_COLUMNS).where(
        ShareGrant.grantee_code.in_(units_above(grantee_code)),
        ShareGrant.kind == kind,
        ShareGrant.revoked_at.is_(None),
        ShareGrant.expires_at > (now or utcnow()),
    )
    if resource_ids is not None:
        wanted = sorted(set(resource_ids))
        if not wanted:
            return []
        one = len(wanted) == 1  # the read path's usual question: a plain equality
        stmt = stmt.where(
            ShareGrant.resource_id == wanted[0] if one else ShareGrant.resource_id.in_(wanted)
        )
    rows = (await session.execute(stmt.order_by(ShareGrant.id))).all()
    return [_grant_of(r) for r in rows]


async def grants_by_resource(
    session: AsyncSession,
    principal: Principal,
    kind: str,
    now: datetime | None = None,
    resource_ids: Iterable[str] | None = None,
) -> Mapping[str, list[Grant]]:
    """The caller's live grants of a kind, by resource id (what a list or map layer adds)."""
    found: dict[str, list[Grant]] = {}
    for grant in await active_grants(session, principal.org_code, kind, now, resource_ids):
        found.setdefault(grant.resource_id, []).append(grant)
    return found


async def granting(
    session: AsyncSession,
    principal: Principal,
    kind: str,
    resource_id: str,
    key: str | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> Grant | None:
    """The first live grant that lets the caller read `key` of a resource at data time `at`."""
    grants = await active_grants(session, principal.org_code, kind, now, [resource_id])
    return next((g for g in grants if g.permits(key, at)), None)


async def allows(
    session: AsyncSession,
    principal: Principal,
    kind: str,
    resource_id: str,
    key: str | None = None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> bool:
    """Whether a grant lets the caller read this (the caller's own data scope is checked apart)."""
    return await granting(session, principal, kind, resource_id, key, at, now) is not None


async def grants_state(session: AsyncSession, kind: str, now: datetime | None = None) -> str:
    """A short string that changes whenever a grant of a kind is made, revoked or expires.

    Caches of data read through grants (map tiles) put it in their key, so nothing drawn
    through a grant is served from a cache after the grant ends.
    """
    live, newest = (
        await session.execute(
            select(func.count(), func.max(ShareGrant.id)).where(
                ShareGrant.kind == kind,
                ShareGrant.revoked_at.is_(None),
                ShareGrant.expires_at > (now or utcnow()),
            )
        )
    ).one()
    return f"{live}.{newest or 0}"


def log_access(
    session: AsyncSession,
    principal: Principal,
    grants: Iterable[Grant | int],
    action: str,
    count: int = 1,
    at: datetime | None = None,
) -> None:
    """Record one access through each grant, in the caller's transaction (it commits with the read)."""
    moment = at or utcnow()
    seen: set[int] = set()
    for grant in grants:
        grant_id = grant if isinstance(grant, int) else grant.id
        if grant_id in seen:
            continue
        seen.add(grant_id)
        session.add(
            ShareAccess(
                grant_id=grant_id,
                account_id=principal.account_id,
                actor=principal.username,
                action=action[:40],
                count=count,
                at=moment,
            )
        )
