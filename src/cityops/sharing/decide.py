"""The life cycle of an application as one table and a pure decision: may this actor do this now.

No database, no clock, no I/O: the service asks `decide` before it changes a row, the API and
the portal list `allowed` to the caller, and the docs draw the same table.

    pending ──approve──▶ approved ──revoke──▶ revoked
       │ └──reject───▶ rejected       └──(expires_at passes)──▶ expired
       └────withdraw──▶ withdrawn
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cityops.auth.roles import Perm


class Status(StrEnum):
    """Where an application stands (申请状态)."""

    PENDING = "pending"  # 待审批
    APPROVED = "approved"  # 已批准 (授权生效)
    REJECTED = "rejected"  # 已驳回
    WITHDRAWN = "withdrawn"  # 已撤回
    REVOKED = "revoked"  # 已收回授权
    EXPIRED = "expired"  # 已到期


class Action(StrEnum):
    """What can be done to an application."""

    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    REVOKE = "revoke"


class Side(StrEnum):
    """Whose side the actor is on for this application."""

    OWNER = "owner"  # the resource owner's side, in scope of owner_code
    APPLICANT = "applicant"  # the applying unit, in scope of grantee_code


@dataclass(frozen=True, slots=True)
class Rule:
    """One row: from a status, an action leads to a status, for one side holding a permission."""

    source: Status
    action: Action
    target: Status
    side: Side
    permission: Perm
    needs_reason: bool = False


TABLE: tuple[Rule, ...] = (
    Rule(Status.PENDING, Action.APPROVE, Status.APPROVED, Side.OWNER, Perm.SHARING_APPROVE),
    Rule(Status.PENDING, Action.REJECT, Status.REJECTED, Side.OWNER, Perm.SHARING_APPROVE, True),
    Rule(Status.PENDING, Action.WITHDRAW, Status.WITHDRAWN, Side.APPLICANT, Perm.SHARING_APPLY),
    Rule(Status.APPROVED, Action.REVOKE, Status.REVOKED, Side.OWNER, Perm.SHARING_APPROVE, True),
)

LABELS: dict[str, str] = {
    Status.PENDING: "待审批",
    Status.APPROVED: "已批准",
    Status.REJECTED: "已驳回",
    Status.WITHDRAWN: "已撤回",
    Status.REVOKED: "已收回",
    Status.EXPIRED: "已到期",
    Action.APPROVE: "批准",
    Action.REJECT: "驳回",
    Action.WITHDRAW: "撤回",
    Action.REVOKE: "收回授权",
}


@dataclass(frozen=True, slots=True)
class Refused:
    """Why the action is refused; `status` is the HTTP answer (403 who, 409 when, 422 what)."""

    status: int
    why: str


def effective(status: str, expires_at: datetime, now: datetime) -> Status:
    """The status as of `now`: an approved application whose expiry passed has expired."""
    if status == Status.APPROVED and expires_at <= now:
        return Status.EXPIRED
    return Status(status)


def decide(
    status: Status,
    action: Action,
    sides: frozenset[Side],
    permissions: frozenset[Perm],
    reason: str = "",
) -> Status | Refused:
    """The next status when this actor (on these sides, with these permissions) acts, or why not."""
    rule = next((r for r in TABLE if r.source is status and r.action is action), None)
    if rule is None:
        return Refused(409, f"an application that is {status.value} cannot be {action.value}d")
    if rule.permission not in permissions:
        return Refused(403, f"{action.value} needs {rule.permission.value}")
    if rule.side not in sides:
        return Refused(403, f"only the {rule.side.value} side may {action.value} this application")
    if rule.needs_reason and not reason.strip():
        return Refused(422, f"{action.value} needs a reason")
    return rule.target


def allowed(status: Status, sides: frozenset[Side], permissions: frozenset[Perm]) -> list[Action]:
    """The actions this actor may take on an application in this status."""
    return [
        r.action
        for r in TABLE
        if r.source is status and r.side in sides and r.permission in permissions
    ]
