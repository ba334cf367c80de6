"""One action in progress, and what its effects may use of the case service.

`effects.py` works on a `Stepper`, the part of `CaseService` an effect needs, so the service
imports the effects and nothing imports back: the flow has no import circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases.access import Actor, CaseAccess
from cityops.cases.catalog.shipped import Category
from cityops.cases.flow.decide import ActionInput
from cityops.cases.flow.env import CaseEnv
from cityops.cases.flow.table import Transition
from cityops.cases.flow.timers import Timers
from cityops.cases.models import CaseRecord
from cityops.cases.repository import CaseRepository
from cityops.kit.events import Event
from cityops.kit.workcal import WorkCalendar
from cityops.org.tree import OrgTree


@dataclass(slots=True)
class Step:
    """One action in progress: the case, who acts, the table row and what came with it."""

    case: CaseRecord
    actor: Actor
    access: CaseAccess
    row: Transition
    data: ActionInput
    tree: OrgTree | None
    detail: dict[str, Any]


class Stepper(Protocol):
    """What an effect may use of the case service: its session, clock, repository and timers."""

    session: AsyncSession
    env: CaseEnv
    calendar: WorkCalendar
    now: datetime
    repo: CaseRepository
    timers: Timers

    def category(self, case: CaseRecord) -> Category:
        """The catalogue row of a case."""
        ...

    async def log(
        self,
        case: CaseRecord,
        actor: Actor,
        action: str,
        from_status: str | None,
        *,
        comment: str = "",
        reason: str = "",
        detail: dict[str, Any] | None = None,
    ) -> int:
        """Append one entry to a case's timeline."""
        ...

    def emit(self, event: Event) -> None:
        """Queue a domain event for publication after commit."""
        ...
