"""The case service: load, check and move cases through the workflow table; never commits.

Adapters (12345, urban grid, town systems, Open311, mobile) call `intake` and `act` with their
own `Actor`; the HTTP API is one such caller. Domain events collect in `events` and are
published by the caller once its transaction has committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases.access import Actor, CaseAccess
from cityops.cases.catalog import Category, LoopLevel
from cityops.cases.categories import find_category
from cityops.cases.env import CaseEnv
from cityops.cases.errors import IllegalTransition, invalid
from cityops.cases.events import CASE_TRANSITIONED, case_event
from cityops.cases.models import CaseEvent, CaseExtension, CaseRecord
from cityops.cases.repository import CaseRepository
from cityops.cases.timers import Timers
from cityops.cases.workflow import (
    Action,
    Status,
    Transition,
    actions_from,
    lookup,
    may,
    resolve_target,
)
from cityops.kit.bus import DomainEvent
from cityops.kit.errors import Forbidden, NotFound
from cityops.org.tree import OrgTree

#: Actions whose guards depend on the case's pending extension request.
EXTENSION_ACTIONS = frozenset(
    {Action.REQUEST_EXTENSION, Action.APPROVE_EXTENSION, Action.REJECT_EXTENSION}
)


@dataclass(frozen=True, slots=True)
class ActionInput:
    """What an action may carry; each action reads the fields it needs."""

    comment: str = ""
    reason: str = ""
    department_id: int | None = None
    department_key: str | None = None
    target_code: str | None = None
    parent_id: int | None = None
    hours: float | None = None
    days: int | None = None
    satisfaction: int | None = None
    level: str | None = None
    photos: tuple[str, ...] = ()  # photo references taken for this step (timeline detail)


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
        self.events: list[DomainEvent] = []

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
        pending = (
            await self.repo.pending_extension(case.id)
            if EXTENSION_ACTIONS.intersection(candidates)
            else None
        )
        return self.allowed_given(case, candidates, pending)

    def allowed_given(
        self, case: CaseRecord, candidates: list[Action], pending: CaseExtension | None
    ) -> list[str]:
        """The candidate actions (from the table) that no guard refuses, given the request."""
        return [a.value for a in candidates if self.guard(case, a, pending) is None]

    def guard(self, case: CaseRecord, action: Action, pending: CaseExtension | None) -> str | None:
        """Why an action the table allows is refused for this case now, or None."""
        limit = self.settings.case_max_returns
        if action is Action.RETURN and case.returns >= limit:
            return f"the case was returned {case.returns} times (limit {limit}): escalate it"
        if action is Action.REQUEST_EXTENSION and pending is not None:
            return "an extension request is already pending"
        if action in (Action.APPROVE_EXTENSION, Action.REJECT_EXTENSION) and pending is None:
            return "no extension request is pending"
        if action is Action.ESCALATE and case.loop_level == LoopLevel.DISTRICT:
            return "the case is already at the district loop"
        if action is Action.ASSIGN_DOWN and case.loop_level != LoopLevel.DISTRICT:
            return "only a case at the district loop can be assigned down"
        if action is Action.UNSUPERVISE and case.supervision is None:
            return "the case is not under supervision"
        return None

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
        from cityops.cases.actions import EFFECTS  # the effects import this module

        case = await self.get(access, case_id, lock=True)
        if not may(action, actor.permissions):
            raise Forbidden(f"{actor.name} may not {action.value} cases")
        row = await self.checked_row(case, actor, action)
        _require_text(row, data)
        step = Step(case, actor, access, row, data, tree, {})
        if data.photos:
            step.detail["photos"] = list(data.photos)
        await EFFECTS[action](self, step)
        await self.move(step)
        await self.session.flush()
        return case

    async def checked_row(self, case: CaseRecord, actor: Actor, action: Action) -> Transition:
        """The table row for the action, or 409 naming the state and what is allowed."""
        status = Status(case.status)
        row = lookup(status, action)
        if row is None:
            allowed = await self.allowed_actions(case, actor)  # only a refusal lists them
            raise IllegalTransition(status.value, action.value, allowed)
        if not row.perms & actor.permissions:
            raise Forbidden(f"{actor.name} may not {action.value} a {status.value} case")
        # The pending extension request matters to the extension actions' guards only.
        pending = (
            await self.repo.pending_extension(case.id) if action in EXTENSION_ACTIONS else None
        )
        why = self.guard(case, action, pending)
        if why is not None:
            allowed = await self.allowed_actions(case, actor)
            raise IllegalTransition(status.value, action.value, allowed, why)
        return row

    async def move(self, step: Step) -> None:
        """Set the new state, stamp the case and append the timeline entry."""
        case, row = step.case, step.row
        before = case.status
        after = resolve_target(row, case.suspended_from)
        if before == Status.SUSPENDED and after != Status.SUSPENDED:
            case.suspended_from = None
        case.status = after.value
        case.updated_at = self.now
        await self.log(
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
                case_event(
                    CASE_TRANSITIONED,
                    case,
                    self.now,
                    action=row.action.value,
                    **{"from": before, "to": after.value},
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

    def emit(self, event: DomainEvent) -> None:
        """Queue a domain event for publication after commit."""
        self.events.append(event)


def _require_text(row: Transition, data: ActionInput) -> None:
    if row.needs_comment and not data.comment.strip():
        raise invalid("comment", f"{row.action.value} needs a comment")
    if row.needs_reason and not data.reason.strip():
        raise invalid("reason", f"{row.action.value} needs a reason")
