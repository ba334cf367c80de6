"""The workflow engine proper: may this actor take this action on this case now, and to where.

Pure — no database, no clock, no I/O — so it can be reasoned about and measured on its own:
`CaseService.act` asks `decide` before applying an action's effects, the API and the portal
list `allowed` to their users, and bench/cases_core.py runs it in memory beside SpiffWorkflow's
engine. The table itself lives in table.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from cityops.auth.roles import Perm
from cityops.cases.catalog.shipped import LoopLevel
from cityops.cases.errors import invalid
from cityops.cases.flow.table import Action, Status, Transition, actions_from, lookup, may
from cityops.kit.errors import Forbidden

#: Actions whose guards depend on whether the case has a pending extension request.
EXTENSION_ACTIONS = frozenset(
    {Action.REQUEST_EXTENSION, Action.APPROVE_EXTENSION, Action.REJECT_EXTENSION}
)
#: Actions that judge the handler's work (核查, 核查通过, 返工): someone else must take them.
VERIFIER_ACTIONS = frozenset({Action.CHECK, Action.VERIFY, Action.REWORK})


class CaseState(Protocol):
    """What the engine reads of a case (a `CaseRecord` is one)."""

    status: str
    returns: int
    loop_level: str
    supervision: str | None


class Acting(Protocol):
    """Who acts: a name for messages and the permissions of the role."""

    @property
    def name(self) -> str:
        """Account or system name."""

    @property
    def account_id(self) -> int | None:
        """The account, None for the platform itself."""

    @property
    def permissions(self) -> frozenset[Perm]:
        """What the role may do."""


@dataclass(frozen=True, slots=True)
class Person:
    """Who did a step before (the handler who marked the case 办结): account id and name."""

    account_id: int | None
    name: str

    def same_as(self, actor: Acting) -> bool:
        """Whether the actor is this person: the same account, else (no account) the same name."""
        if self.account_id is not None and actor.account_id is not None:
            return self.account_id == actor.account_id
        return self.name == actor.name


@dataclass(frozen=True, slots=True)
class Verification:
    """Who handled the case and at which loops the handler may verify their own work."""

    handled_by: Person | None = None
    self_check_loops: frozenset[str] = frozenset()

    def refuses(self, case: CaseState, action: Action, actor: Acting | None) -> str | None:
        """Why this actor may not judge the handling (they did it themselves), or None."""
        if action not in VERIFIER_ACTIONS or actor is None or self.handled_by is None:
            return None
        if case.loop_level in self.self_check_loops or not self.handled_by.same_as(actor):
            return None
        return (
            f"verification is independent: {self.handled_by.name} handled the case "
            "and may not check their own work (核查须由办结人以外的人员进行)"
        )


NO_VERIFICATION = Verification()


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


@dataclass(frozen=True, slots=True)
class Refusal:
    """The table or a guard refuses the action; `why` is None when the table has no row."""

    why: str | None = None


def guard(
    case: CaseState,
    action: Action,
    pending: bool,
    max_returns: int,
    actor: Acting | None = None,
    verification: Verification = NO_VERIFICATION,
) -> str | None:
    """Why an action the table allows is refused for this case now (and this actor), or None."""
    independent = verification.refuses(case, action, actor)
    if independent is not None:
        return independent
    if action is Action.RETURN and case.returns >= max_returns:
        return f"the case was returned {case.returns} times (limit {max_returns}): escalate it"
    if action is Action.REQUEST_EXTENSION and pending:
        return "an extension request is already pending"
    if action in (Action.APPROVE_EXTENSION, Action.REJECT_EXTENSION) and not pending:
        return "no extension request is pending"
    if action is Action.ESCALATE and case.loop_level == LoopLevel.DISTRICT:
        return "the case is already at the district loop"
    if action is Action.ASSIGN_DOWN and case.loop_level != LoopLevel.DISTRICT:
        return "only a case at the district loop can be assigned down"
    if action is Action.UNSUPERVISE and case.supervision is None:
        return "the case is not under supervision"
    return None


def allowed(
    case: CaseState,
    permissions: Iterable[Perm],
    pending: bool,
    max_returns: int,
    actor: Acting | None = None,
    verification: Verification = NO_VERIFICATION,
) -> list[str]:
    """What a role (an actor) may do to this case now: the table's actions no guard refuses."""
    candidates = actions_from(Status(case.status), permissions)
    return [
        a.value
        for a in candidates
        if guard(case, a, pending, max_returns, actor, verification) is None
    ]


def require_text(row: Transition, data: ActionInput) -> None:
    """422 when the action needs a comment or a reason and none came."""
    if row.needs_comment and not data.comment.strip():
        raise invalid("comment", f"{row.action.value} needs a comment")
    if row.needs_reason and not data.reason.strip():
        raise invalid("reason", f"{row.action.value} needs a reason")


def decide(
    case: CaseState,
    action: Action,
    actor: Acting,
    data: ActionInput,
    pending: bool,
    max_returns: int,
    verification: Verification = NO_VERIFICATION,
) -> Transition | Refusal:
    """The table row the action takes, or a refusal; 403 and 422 are raised at once.

    `pending` (an extension request awaits a decision) matters to the extension actions only;
    callers may pass False for any other action without reading it. `verification` (who
    handled the case) matters to 核查, 核查通过 and 返工 only: the handler may not take them
    unless the case's loop allows self-checking.
    """
    if not may(action, actor.permissions):
        raise Forbidden(f"{actor.name} may not {action.value} cases")
    row = lookup(case.status, action)
    if row is None:
        return Refusal()
    if not row.perms & actor.permissions:
        raise Forbidden(f"{actor.name} may not {action.value} a {case.status} case")
    why = guard(case, action, pending, max_returns, actor, verification)
    if why is not None:
        return Refusal(why)
    require_text(row, data)
    return row
