"""The state machine of incidents and orders: ONE table and a pure decision.

Pure — no database, no clock — like cases' flow/decide.py: services ask `decide` before they
move anything, and the API lists `allowed` to its callers. Escalation is not a move of its own:
it is a timer on an order still waiting to be signed for (orders/escalation.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from cityops.auth.roles import Perm
from cityops.kit.errors import Conflict, Forbidden


class Kind(StrEnum):
    """What moves: an incident or an order."""

    INCIDENT = "incident"
    ORDER = "order"


class IncidentState(StrEnum):
    """Life of an incident."""

    DECLARED = "declared"  # 已登记: opened, no plan running yet
    RESPONDING = "responding"  # 响应中: a plan is activated, orders are out
    CLOSED = "closed"  # 已结束


class OrderState(StrEnum):
    """Life of an order (指令)."""

    ISSUED = "issued"  # 已下达, waiting to be signed for (签收)
    SIGNED = "signed"  # 已签收, being carried out; feedback flows up
    DONE = "done"  # 已完成 (completion reported)
    CANCELLED = "cancelled"  # 已撤销 (the plan was adjusted in flight)


class Action(StrEnum):
    """What can be done to an incident or an order."""

    ACTIVATE = "activate"  # 启动预案 (again: another plan or a new level)
    RELEVEL = "relevel"  # 调整响应级别
    NOTE = "note"  # 记录 (said or done, into the timeline)
    LINK_CASE = "link_case"
    ADD_ORDER = "add_order"  # 追加指令
    CLOSE = "close"  # 结束响应
    SIGN = "sign"  # 签收
    FEEDBACK = "feedback"  # 反馈
    COMPLETE = "complete"  # 完成
    CANCEL = "cancel"  # 撤销


@dataclass(frozen=True, slots=True)
class Move:
    """One row: in `state`, holders of `perm` may take `action`, landing in `to`."""

    kind: Kind
    state: str
    action: Action
    to: str
    perm: Perm


_I, _O = Kind.INCIDENT, Kind.ORDER
_D, _R, _C = IncidentState.DECLARED, IncidentState.RESPONDING, IncidentState.CLOSED
_IS, _SG, _DN, _CX = OrderState.ISSUED, OrderState.SIGNED, OrderState.DONE, OrderState.CANCELLED
MANAGE, SIGN = Perm.COMMAND_MANAGE, Perm.ORDER_SIGN

#: The one table: every move an incident or an order may make.
TABLE: tuple[Move, ...] = (
    Move(_I, _D, Action.ACTIVATE, _R, MANAGE),
    Move(_I, _R, Action.ACTIVATE, _R, MANAGE),
    Move(_I, _D, Action.RELEVEL, _D, MANAGE),
    Move(_I, _R, Action.RELEVEL, _R, MANAGE),
    Move(_I, _D, Action.NOTE, _D, MANAGE),
    Move(_I, _R, Action.NOTE, _R, MANAGE),
    Move(_I, _D, Action.LINK_CASE, _D, MANAGE),
    Move(_I, _R, Action.LINK_CASE, _R, MANAGE),
    Move(_I, _R, Action.ADD_ORDER, _R, MANAGE),
    Move(_I, _D, Action.CLOSE, _C, MANAGE),
    Move(_I, _R, Action.CLOSE, _C, MANAGE),
    Move(_O, _IS, Action.SIGN, _SG, SIGN),
    Move(_O, _SG, Action.FEEDBACK, _SG, SIGN),
    Move(_O, _SG, Action.COMPLETE, _DN, SIGN),
    Move(_O, _IS, Action.CANCEL, _CX, MANAGE),
    Move(_O, _SG, Action.CANCEL, _CX, MANAGE),
)
_INDEX = {(m.kind, m.state, m.action): m for m in TABLE}
#: Order states in which the order still waits for someone (its timer may fire).
OPEN_ORDER_STATES = (OrderState.ISSUED.value, OrderState.SIGNED.value)


def allowed(kind: Kind, state: str, permissions: Iterable[Perm]) -> list[str]:
    """The actions holders of these permissions may take on a thing in this state."""
    held = frozenset(permissions)
    return [m.action.value for m in TABLE if m.kind is kind and m.state == state and m.perm in held]


def decide(kind: Kind, state: str, action: Action, permissions: Iterable[Perm]) -> Move:
    """The row the action takes; 403 when the role may never take it, 409 when not now."""
    held = frozenset(permissions)
    rows = [m for m in TABLE if m.kind is kind and m.action is action]
    if not rows:
        raise Conflict(f"an {kind.value} has no action {action.value}")
    if not any(m.perm in held for m in rows):
        raise Forbidden(f"your role may not {action.value} an {kind.value}")
    move = _INDEX.get((kind, state, action))
    if move is None:
        raise Conflict(f"an {kind.value} that is {state} cannot {action.value}", state=state)
    return move
