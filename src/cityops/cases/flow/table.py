"""The case workflow as one explicit table: (state, action) → next state, who may, what it needs.

Everything that moves a case goes through `transition()`; the API lists `allowed_actions()` to
the caller and the docs draw `render_mermaid()`, so the table, the behaviour and the diagram
cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from cityops.auth.roles import Perm
from cityops.cases import glossary


class Status(StrEnum):
    """Where a case stands (案件状态)."""

    RECEIVED = "received"  # 受理
    REGISTERED = "registered"  # 立案
    DISPATCHED = "dispatched"  # 已派遣
    SIGNED = "signed"  # 已签收
    IN_PROGRESS = "in_progress"  # 处置中
    HANDLED = "handled"  # 已办结 (待核查)
    VERIFYING = "verifying"  # 核查中
    VERIFIED = "verified"  # 核查通过 (待结案)
    CLOSED = "closed"  # 已结案
    EVALUATED = "evaluated"  # 已回访
    RETURNED = "returned"  # 已退单
    SUSPENDED = "suspended"  # 挂账
    VOIDED = "voided"  # 作废
    MERGED = "merged"  # 已合并


class Action(StrEnum):
    """What can be done to a case (操作)."""

    REGISTER = "register"
    VOID = "void"
    MERGE = "merge"
    DISPATCH = "dispatch"
    SIGN = "sign"
    RETURN = "return"
    START = "start"
    HANDLE = "handle"
    CHECK = "check"
    VERIFY = "verify"
    REWORK = "rework"
    REDISPATCH = "redispatch"
    CLOSE = "close"
    EVALUATE = "evaluate"
    REOPEN = "reopen"
    ESCALATE = "escalate"
    ASSIGN_DOWN = "assign_down"
    SUSPEND = "suspend"
    RESUME = "resume"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REJECT_EXTENSION = "reject_extension"
    SUPERVISE = "supervise"
    UNSUPERVISE = "unsupervise"


ACTION_LABELS: dict[Action, str] = {a: glossary.ACTION_LABELS[a.value] for a in Action}

STATUS_LABELS: dict[Status, str] = {s: glossary.STATUS_LABELS[s.value] for s in Status}

#: States a case ends in; only `reopen` leaves closed and evaluated.
FINAL = frozenset({Status.CLOSED, Status.EVALUATED, Status.VOIDED, Status.MERGED})
#: States in which a level may pass the case up or be told to wait (before it is handled).
WORKING = (Status.REGISTERED, Status.RETURNED, Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS)
#: The main line (主流程): received to closed with no side path — 立案, 派遣, 签收, 开始处置, 办结,
#: 核查, 核查通过, 结案.
MAIN_LINE: tuple[Action, ...] = (
    Action.REGISTER,
    Action.DISPATCH,
    Action.SIGN,
    Action.START,
    Action.HANDLE,
    Action.CHECK,
    Action.VERIFY,
    Action.CLOSE,
)
#: Actions that keep the state but move the case to another loop (drawn as self-transitions).
LOOP_ACTIONS = frozenset({Action.ESCALATE, Action.ASSIGN_DOWN})
#: Target marker of `resume`: back to the state the case was suspended in.
PREVIOUS = "(previous)"

_DISPATCHER = frozenset({Perm.CASE_DISPATCH})
_HANDLER = frozenset({Perm.CASE_HANDLE})
_VERIFIER = frozenset({Perm.CASE_VERIFY})


@dataclass(frozen=True, slots=True)
class Transition:
    """One row of the table: from `source` by `action` to `target` (PREVIOUS for resume)."""

    source: Status
    action: Action
    target: Status | str
    perms: frozenset[Perm]  # any one of these
    needs_comment: bool = False
    needs_reason: bool = False

    @property
    def changes_state(self) -> bool:
        """Whether the case moves (flags and extension requests leave it where it is)."""
        return self.target != self.source


def _rows(
    action: Action,
    sources: Iterable[Status],
    target: Status | str | None,
    perms: frozenset[Perm],
    *,
    comment: bool = False,
    reason: bool = False,
) -> list[Transition]:
    """One row per source state; target None means the case stays where it is."""
    return [
        Transition(s, action, s if target is None else target, perms, comment, reason)
        for s in sources
    ]


_OPEN = [s for s in Status if s not in FINAL]

TRANSITIONS: tuple[Transition, ...] = (
    *_rows(Action.REGISTER, [Status.RECEIVED], Status.REGISTERED, _DISPATCHER),
    *_rows(
        Action.VOID, [Status.RECEIVED, Status.REGISTERED], Status.VOIDED, _DISPATCHER, reason=True
    ),
    *_rows(Action.MERGE, [Status.RECEIVED, Status.REGISTERED], Status.MERGED, _DISPATCHER),
    *_rows(Action.DISPATCH, [Status.REGISTERED, Status.RETURNED], Status.DISPATCHED, _DISPATCHER),
    *_rows(Action.SIGN, [Status.DISPATCHED], Status.SIGNED, _HANDLER),
    *_rows(
        Action.RETURN, [Status.DISPATCHED, Status.SIGNED], Status.RETURNED, _HANDLER, reason=True
    ),
    *_rows(Action.START, [Status.SIGNED], Status.IN_PROGRESS, _HANDLER),
    *_rows(Action.HANDLE, [Status.IN_PROGRESS], Status.HANDLED, _HANDLER, comment=True),
    *_rows(Action.CHECK, [Status.HANDLED], Status.VERIFYING, _VERIFIER),
    *_rows(Action.VERIFY, [Status.VERIFYING], Status.VERIFIED, _VERIFIER),
    *_rows(Action.REWORK, [Status.VERIFYING], Status.IN_PROGRESS, _VERIFIER, reason=True),
    *_rows(Action.REDISPATCH, [Status.VERIFYING], Status.DISPATCHED, _DISPATCHER, reason=True),
    *_rows(Action.CLOSE, [Status.VERIFIED], Status.CLOSED, _DISPATCHER),
    *_rows(
        Action.EVALUATE,
        [Status.CLOSED],
        Status.EVALUATED,
        frozenset({Perm.CASE_EVALUATE, Perm.CASE_DISPATCH}),
    ),
    *_rows(
        Action.REOPEN,
        [Status.CLOSED, Status.EVALUATED],
        Status.REGISTERED,
        _DISPATCHER,
        reason=True,
    ),
    *_rows(Action.ESCALATE, WORKING, Status.REGISTERED, _DISPATCHER, reason=True),
    *_rows(
        Action.ASSIGN_DOWN, [Status.REGISTERED, Status.RETURNED], Status.REGISTERED, _DISPATCHER
    ),
    *_rows(
        Action.SUSPEND,
        [Status.REGISTERED, Status.DISPATCHED, Status.SIGNED, Status.IN_PROGRESS],
        Status.SUSPENDED,
        _DISPATCHER,
        reason=True,
    ),
    *_rows(Action.RESUME, [Status.SUSPENDED], PREVIOUS, _DISPATCHER),
    *_rows(
        Action.REQUEST_EXTENSION,
        [Status.SIGNED, Status.IN_PROGRESS],
        None,
        _HANDLER,
        reason=True,
    ),
    *_rows(
        Action.APPROVE_EXTENSION,
        [Status.SIGNED, Status.IN_PROGRESS, Status.SUSPENDED],
        None,
        _DISPATCHER,
    ),
    *_rows(
        Action.REJECT_EXTENSION,
        [Status.SIGNED, Status.IN_PROGRESS, Status.SUSPENDED],
        None,
        _DISPATCHER,
        reason=True,
    ),
    *_rows(Action.SUPERVISE, _OPEN, None, frozenset({Perm.CASE_SUPERVISE}), comment=True),
    *_rows(Action.UNSUPERVISE, _OPEN, None, frozenset({Perm.CASE_SUPERVISE})),
)

TABLE: dict[tuple[Status, Action], Transition] = {(t.source, t.action): t for t in TRANSITIONS}


def _action_perms() -> dict[Action, frozenset[Perm]]:
    perms: dict[Action, frozenset[Perm]] = {}
    for row in TRANSITIONS:
        perms[row.action] = perms.get(row.action, frozenset()) | row.perms
    return perms


#: Who may take an action at all (whatever the state): a caller without it gets 403.
ACTION_PERMS = _action_perms()


def lookup(status: Status | str, action: Action) -> Transition | None:
    """The row for an action from a state (a Status or its value), or None when there is none."""
    # A StrEnum member hashes and compares as its value: a stored status string finds its row.
    return TABLE.get((status, action))  # type: ignore[arg-type]


def may(action: Action, permissions: Iterable[Perm]) -> bool:
    """Whether a role with these permissions may take this action in some state."""
    return not ACTION_PERMS.get(action, frozenset()).isdisjoint(permissions)


def actions_from(status: Status, permissions: Iterable[Perm] | None = None) -> list[Action]:
    """The actions the table allows from a state, for these permissions (or anyone's)."""
    held = None if permissions is None else set(permissions)
    return [
        row.action
        for row in TRANSITIONS
        if row.source is status and (held is None or row.perms & held)
    ]


def resolve_target(row: Transition, suspended_from: str | None) -> Status:
    """The state a transition leads to; `resume` goes back where the case was suspended."""
    if isinstance(row.target, Status):
        return row.target
    if row.target == PREVIOUS:
        if suspended_from is None:
            return Status.REGISTERED
        return Status(suspended_from)
    return Status(row.target)


def render_mermaid() -> str:
    """The state diagram of the table as Mermaid `stateDiagram-v2` (used in docs/cases.md)."""
    lines = ["stateDiagram-v2", "    [*] --> received"]
    seen: set[tuple[str, str, str]] = set()
    for row in TRANSITIONS:
        if not row.changes_state and row.action not in LOOP_ACTIONS:
            continue
        targets = (
            [s.value for s in Status if lookup(s, Action.SUSPEND)]
            if row.target == PREVIOUS
            else [str(row.target)]
        )
        for target in targets:
            edge = (row.source.value, target, row.action.value)
            if edge not in seen:
                seen.add(edge)
                label = f"{row.action.value} {ACTION_LABELS[row.action]}"
                lines.append(f"    {row.source.value} --> {target}: {label}")
    lines += [f"    {s.value} --> [*]" for s in (Status.EVALUATED, Status.VOIDED, Status.MERGED)]
    drawn = {action for _, _, action in seen}
    flags = sorted({r.action.value for r in TRANSITIONS} - drawn)
    lines.append(f"    note right of in_progress: in place, no state change: {', '.join(flags)}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # print the diagram for docs/cases.md
    print(render_mermaid(), end="")
