"""The queries of the Open311 facade: Open311 cases through the reader's case access."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases.access import CaseAccess
from cityops.cases.intake.opening import Source
from cityops.cases.models import CaseRecord

#: "first 1000 requests returned" (GeoReport v2, GET Service Requests, Response Volume).
MAX_REQUESTS = 1000


@dataclass(frozen=True, slots=True)
class RequestQuery:
    """GET requests filters: ids (which override the rest), categories, window, case states."""

    ids: tuple[int, ...] | None = None
    categories: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    statuses: tuple[str, ...] = ()


async def find(
    session: AsyncSession, access: CaseAccess, query: RequestQuery
) -> Sequence[CaseRecord]:
    """Visible Open311 cases matching the query, newest first, at most 1000."""
    stmt = access.apply(select(CaseRecord).where(CaseRecord.source == Source.OPEN311.value))
    if query.ids is not None:
        stmt = stmt.where(CaseRecord.id.in_(list(query.ids)))
    else:
        if query.categories:
            stmt = stmt.where(CaseRecord.category.in_(list(query.categories)))
        if query.since is not None:
            stmt = stmt.where(CaseRecord.created_at >= query.since)
        if query.until is not None:
            stmt = stmt.where(CaseRecord.created_at <= query.until)
        if query.statuses:
            stmt = stmt.where(CaseRecord.status.in_(list(query.statuses)))
    stmt = stmt.order_by(CaseRecord.created_at.desc(), CaseRecord.id.desc()).limit(MAX_REQUESTS)
    return (await session.scalars(stmt)).all()


async def one(session: AsyncSession, access: CaseAccess, case_id: int) -> CaseRecord | None:
    """One visible Open311 case."""
    stmt = access.apply(
        select(CaseRecord).where(
            CaseRecord.id == case_id, CaseRecord.source == Source.OPEN311.value
        )
    )
    return await session.scalar(stmt)
