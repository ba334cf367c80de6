"""The changes feed of a town system's cases: timeline entries after a cursor, never one lost.

The cursor is the timeline entry's id (`case_event.id`), which only grows. On PostgreSQL ids
are drawn when a row is written but become visible when its transaction commits, so a reader
could see id 11 before id 10 and move past 10 for ever. The feed therefore hands out an entry
only once it is `settle` old, and stops at the first entry that is not: with every write
finishing within half of `settle`, no entry can still appear behind the cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from cityops.auth.principal import Principal
from cityops.cases.intake.opening import Source
from cityops.cases.models import CaseEvent, CaseRecord


@dataclass(frozen=True, slots=True)
class Change:
    """One timeline entry of one of the system's cases, with the case's source key."""

    event: CaseEvent
    source_key: str | None


@dataclass(frozen=True, slots=True)
class Page:
    """Settled entries after the cursor, and whether more are settled already."""

    changes: list[Change]
    has_more: bool


async def changes(
    session: AsyncSession, principal: Principal, since: int, limit: int, settled_before: datetime
) -> Page:
    """Entries of the cases this system opened in its town, oldest first, after `since`."""
    stmt = (
        select(CaseEvent, CaseRecord.source_key)
        .join(CaseRecord, CaseRecord.id == CaseEvent.case_id)
        .where(
            CaseEvent.id > since,
            CaseRecord.source == Source.TOWN_SYSTEM.value,
            CaseRecord.created_by_id == principal.account_id,
        )
    )
    # Scoped by where the case lies, not by who owns it now: a case the town escalated to the
    # district stays in the town system's feed until it is closed.
    unit = cast("QueryableAttribute[str]", CaseRecord.unit_code)  # NULL never matches a prefix
    stmt = stmt.where(
        principal.scope.clause(unit)
    )  # what kit.scope.scoped does, for a 2-col select
    rows = (await session.execute(stmt.order_by(CaseEvent.id).limit(limit + 1))).all()
    page: list[Change] = []
    for event, key in rows:
        if event.at > settled_before:
            return Page(page[:limit], has_more=False)  # the rest is too fresh to hand out
        page.append(Change(event, key))
    return Page(page[:limit], has_more=len(page) > limit)
