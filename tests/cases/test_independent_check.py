"""核查 is someone else's: the handler may not check, pass or send back their own work."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from cityops.auth.roles import Role, permissions_of
from cityops.cases.access import Actor
from cityops.cases.catalog.shipped import LoopLevel
from cityops.cases.flow.decide import (
    VERIFIER_ACTIONS,
    ActionInput,
    Person,
    Refusal,
    Verification,
    allowed,
    decide,
)
from cityops.cases.flow.table import Action, Status
from cityops.config import Settings
from tests.auth.conftest import assert_problem
from tests.cases.conftest import Api, FakeClock, Places, sh

#: Two people with the same role, so only who they are differs.
WORKER = Actor("worker", "310117102001", 41, permissions_of(Role.TOWN_OPERATOR))
COLLEAGUE = Actor("colleague", "310117102001", 42, permissions_of(Role.TOWN_OPERATOR))
HANDLED_BY_WORKER = Person(41, "worker")
INPUTS = {Action.REWORK: ActionInput(reason="未整改到位")}


@dataclass
class Case:
    """What the engine reads of a case."""

    status: str
    loop_level: str
    returns: int = 0
    supervision: str | None = None


def _state(action: Action) -> str:
    return Status.HANDLED.value if action is Action.CHECK else Status.VERIFYING.value


@pytest.mark.parametrize("loop", list(LoopLevel))
@pytest.mark.parametrize("action", sorted(VERIFIER_ACTIONS))
def test_at_every_loop_the_handler_may_not_judge_their_own_work(
    loop: LoopLevel, action: Action
) -> None:
    case = Case(_state(action), loop.value)
    who = Verification(HANDLED_BY_WORKER)
    data = INPUTS.get(action, ActionInput())
    refusal = decide(case, action, WORKER, data, False, 3, who)
    assert isinstance(refusal, Refusal) and refusal.why and "worker" in refusal.why
    assert action.value not in allowed(case, WORKER.permissions, False, 3, WORKER, who)
    row = decide(case, action, COLLEAGUE, data, False, 3, who)
    assert not isinstance(row, Refusal) and row.action is action
    assert action.value in allowed(case, COLLEAGUE.permissions, False, 3, COLLEAGUE, who)


@pytest.mark.parametrize("loop", list(LoopLevel))
def test_a_loop_may_be_configured_to_let_the_handler_check(loop: LoopLevel) -> None:
    case = Case(Status.HANDLED.value, loop.value)
    here = Verification(HANDLED_BY_WORKER, frozenset({loop.value}))
    assert not isinstance(
        decide(case, Action.CHECK, WORKER, ActionInput(), False, 3, here), Refusal
    )
    others = frozenset(level.value for level in LoopLevel) - {loop.value}
    elsewhere = Verification(HANDLED_BY_WORKER, others)
    refused = decide(case, Action.CHECK, WORKER, ActionInput(), False, 3, elsewhere)
    assert isinstance(refused, Refusal)


def test_people_without_accounts_are_told_apart_by_name() -> None:
    by_name = Person(None, "worker")
    assert by_name.same_as(Actor("worker", "310117"))
    assert not by_name.same_as(Actor("someone", "310117"))
    assert not HANDLED_BY_WORKER.same_as(Actor("worker", "310117", 99))  # another account


def test_the_setting_names_loops_only() -> None:
    assert Settings(case_self_check_loops={"community"}).case_self_check_loops == {"community"}
    with pytest.raises(ValidationError, match="not loops"):
        Settings(case_self_check_loops={"street"})


def test_the_api_refuses_the_handler_and_records_who_checked(
    api: Api, places: Places, clock: FakeClock
) -> None:
    clock.set(sh(2026, 9, 1, 9, 0))
    cid = api.open_case("t_duty", places["310117102002"])
    for action in ("register", "dispatch", "sign", "start"):
        api.ok("t_duty", cid, action)
    handled = api.ok("t_duty", cid, "handle", comment="已处置")
    assert "check" not in handled["allowed_actions"]
    refused = api.act("t_duty", cid, "check")
    assert_problem(refused, 409, "illegal-transition")
    assert "t_duty" in refused.json()["detail"]
    assert "check" in api.detail(cid, "t_sijing")["allowed_actions"]
    api.ok("t_sijing", cid, "check")
    api.ok("t_sijing", cid, "verify")
    entries = {e["action"]: e for e in api.timeline(cid)}
    for action in ("check", "verify"):
        assert entries[action]["actor"] == "t_sijing"
        assert entries[action]["detail"]["handled_by"] == "t_duty"
        assert entries[action]["detail"]["independent"] is True
