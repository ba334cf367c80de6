"""Domain events of the event flow: the typed facts cases publish after their transaction commits.

Every case event names the case (`id`), its loop level and owner, and where it lies
(`unit_code`, `community_code`, `grid_code`, each may be null), so listeners such as the
overview know which areas changed.

| event | when |
|---|---|
| `CaseCreated` (`case.created`) | a case was opened (not on an idempotent repeat) |
| `CaseTransitioned` (`case.transitioned`) | an action moved a case to another state |
| `CaseEscalated` (`case.escalated`) | a case moved to a higher loop (by hand or on a breach) |
| `CaseDueSoon` (`case.due_soon`) | a deadline reached its 临期 point |
| `CaseOverdue` (`case.overdue`) | a deadline passed (超期) |

Consumed (each opens a case idempotently by source and key, `cases/intake/bus.py`): the IoT
hub's `SceneEvent`, the AI hub's `Detection`, the video hub's `VideoAlarm` and command's
`IncidentDeclared`, imported from those modules' public faces.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import Field

from cityops.cases.models import CaseRecord
from cityops.kit.events import Event


class CaseFact(Event):
    """What every case event carries: the case, its loop and owner, and where it lies."""

    owner_code: str
    id: int
    loop_level: str
    unit_code: str | None = None
    community_code: str | None = None
    grid_code: str | None = None

    @classmethod
    def about(cls, case: CaseRecord, at: datetime, key: str, **fields: Any) -> Self:
        """The event about a case at an instant, with its own fields."""
        return cls(
            key=key,
            occurred_at=at,
            id=case.id,
            loop_level=case.loop_level,
            owner_code=case.owner_code,
            unit_code=case.unit_code,
            community_code=case.community_code,
            grid_code=case.grid_code,
            **fields,
        )


class CaseCreated(CaseFact):
    """A case was opened."""

    name = "case.created"
    source: str
    source_key: str | None
    category: str
    status: str


class CaseTransitioned(CaseFact):
    """An action moved a case from one state to another."""

    name = "case.transitioned"
    action: str
    from_status: str = Field(alias="from")
    to_status: str = Field(alias="to")
    actor: str


class CaseEscalated(CaseFact):
    """A case moved to a higher loop, by hand or automatically on a breach."""

    name = "case.escalated"
    from_level: str
    to_level: str
    from_owner: str
    to_owner: str
    automatic: bool


class CaseDueSoon(CaseFact):
    """A deadline of a case reached its 临期 point."""

    name = "case.due_soon"
    timer: str
    due_at: str


class CaseOverdue(CaseFact):
    """A deadline of a case passed (超期)."""

    name = "case.overdue"
    timer: str
    due_at: str


PUBLISHED: tuple[type[CaseFact], ...] = (
    CaseCreated,
    CaseTransitioned,
    CaseEscalated,
    CaseDueSoon,
    CaseOverdue,
)
