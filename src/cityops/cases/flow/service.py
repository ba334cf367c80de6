"""The case service: load, check and move cases through the workflow table; never commits.

Adapters (12345, urban grid, town systems, Open311, mobile) call `intake` and `act` with their
own `Actor`; the HTTP API is one such caller. Domain events collect in `events` and are
published by the caller once its transaction has committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases.access import Actor, CaseAccess
from cityops.cases.catalog.codes import find_category
from cityops.cases.catalog.shipped import Category
from cityops.cases.errors import IllegalTransition
from cityops.cases.events import CaseTransitioned
from cityops.cases.filters import CaseFilter
from cityops.cases.flow.decide import (
    EXTENSION_ACTIONS,
    VERIFIER_ACTIONS,
    ActionInput,
    Person,
    Refusal,
    Verification,
    allowed,
    decide,
)
from cityops.cases.flow.effects import EFFECTS
from cityops.cases.flow.env import CaseEnv
from cityops.cases.flow.step import Step
from cityops.cases.flow.table import Action, Status, actions_from, resolve_target
from cityops.cases.flow.timers import Timers
from cityops.cases.models import CaseEvent, CaseExtension, CaseRecord, CaseTimer
from cityops.cases.repository import CaseRepository
from cityops.kit.errors import NotFound
from cityops.kit.events import Event
from cityops.org.models import Department
from cityops.org.tree import OrgTree

__all__ = ["ActionInput", "CaseService", "Step"]  # ActionInput: callers import it from here


class CaseService:
    """Domain rules of cases inside one transaction, at one instant (`now`)."""

    def __init__(self, session: AsyncSession, env: CaseEnv, now: datetime | None = None) -> None:
        self.session = session
        self.env = env
        self.settings = env.settings
        self.calendar = env.calendar
        self.now = now or env.now()
        self.repo = CaseRepository(session)
        self.timers = Timers(session, env.calendar, env.settings.case_warn_ratio)
        self.events: list[Event] = []

    # --- reading -------------------------------------------------------------------------------

    async def get(self, access: CaseAccess, case_id: int, *, lock: bool = False) -> CaseRecord:
        """A visible case or 404 (a case outside the caller's scope does not exist for it)."""
        case = await self.repo.get(access, case_id, for_update=lock)
        if case is None:
            raise NotFound("case", case_id)
        return case

    def category(self, case: CaseRecord) -> Category:
        """The catalogue row of a case."""
        return find_category(case.category)

    async def allowed_actions(self, case: CaseRecord, actor: Actor) -> list[str]:
        """What this actor may do to this case now (table, permissions and guards)."""
        candidates = actions_from(Status(case.status), actor.permissions)
        # Only the extension guards read the pending request: skip the query without them.
        pending = bool(EXTENSION_ACTIONS.intersection(candidates)) and await self.has_pending(case)
        verification = await self.verification(case, candidates)
        return allowed(
            case, actor.permissions, pending, self.settings.case_max_returns, actor, verification
        )

    async def verification(self, case: CaseRecord, actions: Sequence[Action]) -> Verification:
        """Who handled the case, when one of the actions judges the handling (else no query)."""
        loops = frozenset(self.settings.case_self_check_loops)
        if VERIFIER_ACTIONS.isdisjoint(actions):
            return Verification(None, loops)
        handler = await self.repo.last_actor(case.id, Action.HANDLE.value)
        return Verification(None if handler is None else Person(*handler), loops)

    async def has_pending(self, case: CaseRecord) -> bool:
        """Whether an extension request of the case awaits a decision."""
        return await self.repo.pending_extension(case.id) is not None

    async def find(self, access: CaseAccess, case_id: int) -> CaseRecord | None:
        """A visible case, or None (pages answer their own 404)."""
        return await self.repo.get(access, case_id)

    async def list_cases(
        self, access: CaseAccess, where: CaseFilter, limit: int, offset: int
    ) -> tuple[Sequence[CaseRecord], int]:
        """Visible cases matching the filters, newest first, and how many match in all."""
        return await self.repo.list(access, where, limit, offset)

    async def timeline(self, access: CaseAccess, case_id: int) -> Sequence[CaseEvent]:
        """The timeline of a visible case, oldest first."""
        return await self.repo.timeline(access, case_id)

    async def timers_of(self, case_ids: Sequence[int]) -> dict[int, Sequence[CaseTimer]]:
        """The SLA timers of the given cases, by case."""
        return await self.repo.timers_of(case_ids)

    async def pending_extension(self, case: CaseRecord) -> CaseExtension | None:
        """The extension request of a case that awaits a decision, if any."""
        return await self.repo.pending_extension(case.id)

    async def departments(self, ids: Sequence[int]) -> dict[int, Department]:
        """Departments by id (names for the pages)."""
        return await self.repo.departments(ids)

    # --- acting --------------------------------------------------------------------------------

    async def act(
        self,
        access: CaseAccess,
        actor: Actor,
        case_id: int,
        action: Action,
        data: ActionInput,
        tree: OrgTree | None = None,
    ) -> CaseRecord:
        """Take one action on a case: check, apply its effects, move it, record it."""
        case = await self.get(access, case_id, lock=True)
        # The pending extension request matters to the extension actions' guards only.
        pending = action in EXTENSION_ACTIONS and await self.has_pending(case)
        verification = await self.verification(case, [action])
        max_returns = self.settings.case_max_returns
        row = decide(case, action, actor, data, pending, max_returns, verification)
        if isinstance(row, Refusal):
            raise IllegalTransition(
                case.status, action.value, await self.allowed_actions(case, actor), row.why or ""
            )
        step = Step(case, actor, access, row, data, tree, {})
        if data.photos:
            step.detail["photos"] = list(data.photos)
        if verification.handled_by is not None:
            # The timeline says whose work was judged: the check is seen to be independent.
            step.detail["handled_by"] = verification.handled_by.name
            step.detail["independent"] = not verification.handled_by.same_as(actor)
        await EFFECTS[action](self, step)
        await self.move(step)
        await self.session.flush()
        return case

    async def move(self, step: Step) -> None:
        """Set the new state, stamp the case and append the timeline entry."""
        case, row = step.case, step.row
        before = case.status
        after = resolve_target(row, case.suspended_from)
        if before == Status.SUSPENDED and after != Status.SUSPENDED:
            case.suspended_from = None
        case.status = after.value
        case.updated_at = self.now
        seq = await self.log(
            case,
            step.actor,
            row.action.value,
            before,
            comment=step.data.comment,
            reason=step.data.reason,
            detail=step.detail,
        )
        if after.value != before:
            self.emit(
                CaseTransitioned.about(
                    case,
                    self.now,
                    f"{CaseTransitioned.name}:{case.id}:{seq}",
                    action=row.action.value,
                    from_status=before,
                    to_status=after.value,
                    actor=step.actor.name,
                )
            )

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
        """Append one entry to a case's timeline, after writing the case; the entry's number."""
        await self.session.flush()  # the case's new state first, then its timeline entry
        values = {
            "case_id": case.id,
            "at": self.now,
            "action": action,
            "from_status": from_status,
            "to_status": case.status,
            "loop_level": case.loop_level,
            "owner_code": case.owner_code,
            "actor_id": actor.account_id,
            "actor": actor.name,
            "actor_org": actor.org_code,
            "comment": comment,
            "reason": reason,
            "detail": detail or {},
        }
        seq = await self.repo.append_event(values)
        if self.env.hooks:
            # The row is written; hooks read a detached copy of it (never added to the session).
            entry = CaseEvent(seq=seq, **values)
            for hook in self.env.hooks:
                await hook(self, case, entry)
        return seq

    def emit(self, event: Event) -> None:
        """Queue a domain event for publication after commit (kept in the outbox with the change)."""
        self.events.append(event)
        self.env.bus.stage(self.session, event)
