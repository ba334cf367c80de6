"""The incident's timeline: everything said and done, appended, never changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.command.models import Order, TimelineEntry
from cityops.kit.scope import DataScope


def record(
    session: AsyncSession,
    incident_id: int,
    *,
    actor: str,
    kind: str,
    at: datetime,
    text: str = "",
    order_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> TimelineEntry:
    """Append one entry in the caller's transaction."""
    entry = TimelineEntry(
        incident_id=incident_id,
        order_id=order_id,
        at=at,
        actor=actor,
        kind=kind,
        text=text,
        detail=detail or {},
    )
    session.add(entry)
    return entry


async def entries(
    session: AsyncSession, incident_id: int, scope: DataScope, whole: bool
) -> list[TimelineEntry]:
    """The timeline, oldest first; without `whole`, order entries only of orders in scope."""
    stmt = select(TimelineEntry).where(TimelineEntry.incident_id == incident_id)
    if not whole:
        visible = select(Order.id).where(
            Order.incident_id == incident_id, scope.clause(Order.unit_code)
        )
        stmt = stmt.where(TimelineEntry.order_id.is_(None) | TimelineEntry.order_id.in_(visible))
    return list((await session.scalars(stmt.order_by(TimelineEntry.id))).all())
