"""The workflow engine on its own: decisions without a database, as the service asks for them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from cityops.auth.roles import Role, permissions_of
from cityops.cases.access import Actor
from cityops.cases.catalog.shipped import LoopLevel
from cityops.cases.flow.decide import ActionInput, Refusal, allowed, decide
from cityops.cases.flow.table import MAIN_LINE, Action, Status, resolve_target
from cityops.kit.errors import Forbidden, ProblemError

OFFICER = Actor("duty", "310117", None, permissions_of(Role.DISTRICT_OFFICER))
HANDLER = Actor("worker", "310117102", None, permissions_of(Role.GRID_WORKER))


@dataclass
class Case:
    """What the engine reads of a case."""

    status: str = Status.RECEIVED.value
    returns: int = 0
    loop_level: str = LoopLevel.COMMUNITY.value
    supervision: str | None = None
    suspended_from: str | None = None


def test_the_main_line_runs_from_received_to_closed() -> None:
    case = Case()
    for action in MAIN_LINE:
        data = ActionInput(comment="已处置" if action is Action.HANDLE else "")
        row = decide(case, action, OFFICER, data, False, 3)
        assert not isinstance(row, Refusal), action
        case.status = resolve_target(row, case.suspended_from).value
    assert case.status == Status.CLOSED


def test_closing_an_unsigned_case_is_refused_by_the_table() -> None:
    refusal = decide(Case(status=Status.DISPATCHED), Action.CLOSE, OFFICER, ActionInput(), False, 3)
    assert refusal == Refusal(None)


def test_a_role_without_the_permission_is_forbidden() -> None:
    with pytest.raises(Forbidden, match="may not register"):
        decide(Case(), Action.REGISTER, HANDLER, ActionInput(), False, 3)


def test_guards_refuse_with_a_reason() -> None:
    returned = Case(status=Status.DISPATCHED, returns=3)
    refusal = decide(returned, Action.RETURN, OFFICER, ActionInput(reason="不归我管"), False, 3)
    assert isinstance(refusal, Refusal) and refusal.why and "limit 3" in refusal.why
    at_top = Case(status=Status.REGISTERED, loop_level=LoopLevel.DISTRICT.value)
    refusal = decide(at_top, Action.ESCALATE, OFFICER, ActionInput(reason="x"), False, 3)
    assert (
        isinstance(refusal, Refusal) and refusal.why == "the case is already at the district loop"
    )


def test_extension_guards_follow_the_pending_request() -> None:
    signed = Case(status=Status.SIGNED)
    asked = ActionInput(reason="材料未到")
    assert isinstance(decide(signed, Action.REQUEST_EXTENSION, OFFICER, asked, True, 3), Refusal)
    assert not isinstance(
        decide(signed, Action.REQUEST_EXTENSION, OFFICER, asked, False, 3), Refusal
    )
    assert isinstance(
        decide(signed, Action.APPROVE_EXTENSION, OFFICER, ActionInput(), False, 3), Refusal
    )
    assert not isinstance(
        decide(signed, Action.APPROVE_EXTENSION, OFFICER, ActionInput(), True, 3), Refusal
    )


def test_missing_text_is_a_clear_422() -> None:
    with pytest.raises(ProblemError) as info:
        decide(Case(status=Status.IN_PROGRESS), Action.HANDLE, OFFICER, ActionInput(), False, 3)
    assert info.value.status == 422 and "needs a comment" in str(info.value.detail)


def test_allowed_lists_what_no_guard_refuses() -> None:
    dispatched = Case(status=Status.DISPATCHED)
    assert {"sign", "return"} <= set(allowed(dispatched, OFFICER.permissions, False, 3))
    worn_out = Case(status=Status.DISPATCHED, returns=3)
    assert "return" not in allowed(worn_out, OFFICER.permissions, False, 3)
    assert "unsupervise" not in allowed(dispatched, OFFICER.permissions, False, 3)
    assert "register" not in allowed(Case(), HANDLER.permissions, False, 3)


def test_resume_goes_back_to_where_the_case_was_suspended() -> None:
    suspended = Case(status=Status.SUSPENDED, suspended_from=Status.SIGNED.value)
    row = decide(suspended, Action.RESUME, OFFICER, ActionInput(), False, 3)
    assert not isinstance(row, Refusal)
    assert resolve_target(row, suspended.suspended_from) is Status.SIGNED
