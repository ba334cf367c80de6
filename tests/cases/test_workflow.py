"""The transition table: complete, consistent, and drawn in docs/cases.md exactly as it is."""

from __future__ import annotations

from pathlib import Path

from cityops.auth.roles import Perm, Role, permissions_of
from cityops.cases.flow.effects import EFFECTS
from cityops.cases.flow.table import (
    ACTION_LABELS,
    FINAL,
    TABLE,
    TRANSITIONS,
    Action,
    Status,
    actions_from,
    lookup,
    may,
    render_mermaid,
    resolve_target,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "cases.md"


def test_every_action_has_effects_a_label_and_rows() -> None:
    assert set(EFFECTS) == set(Action) == set(ACTION_LABELS)
    assert {row.action for row in TRANSITIONS} == set(Action)
    assert len(TABLE) == len(TRANSITIONS)  # no (state, action) pair twice


def test_every_state_is_reachable_from_received() -> None:
    seen, todo = {Status.RECEIVED}, [Status.RECEIVED]
    while todo:
        state = todo.pop()
        for action in actions_from(state):
            row = lookup(state, action)
            assert row is not None
            targets = (
                [resolve_target(row, s.value) for s in Status if lookup(s, Action.SUSPEND)]
                if row.target == "(previous)"
                else [Status(row.target)]
            )
            for target in targets:
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
    assert seen == set(Status)


def test_the_table_says_what_the_issue_says() -> None:
    assert lookup(Status.DISPATCHED, Action.CLOSE) is None  # close an unsigned case: illegal
    assert lookup(Status.RECEIVED, Action.REGISTER).target == Status.REGISTERED  # type: ignore[union-attr]
    assert lookup(Status.VERIFYING, Action.REWORK).target == Status.IN_PROGRESS  # type: ignore[union-attr]
    assert lookup(Status.VERIFYING, Action.REDISPATCH).target == Status.DISPATCHED  # type: ignore[union-attr]
    assert lookup(Status.CLOSED, Action.REOPEN) is not None
    ask = lookup(Status.SIGNED, Action.REQUEST_EXTENSION)
    assert ask is not None and not ask.changes_state and ask.needs_reason
    returning = lookup(Status.DISPATCHED, Action.RETURN)
    assert returning is not None and returning.needs_reason
    assert lookup(Status.IN_PROGRESS, Action.HANDLE).needs_comment  # type: ignore[union-attr]
    for final in FINAL:
        assert lookup(final, Action.SUPERVISE) is None
    for state in set(Status) - FINAL:
        assert lookup(state, Action.SUPERVISE) is not None  # a flag over any open state


def test_roles_reach_the_actions_they_should() -> None:
    duty = permissions_of(Role.DISTRICT_OFFICER)
    assert all(may(a, duty) for a in Action)
    grid = permissions_of(Role.GRID_WORKER)
    assert may(Action.SIGN, grid) and may(Action.CHECK, grid) and not may(Action.DISPATCH, grid)
    town = permissions_of(Role.TOWN_OPERATOR)
    assert may(Action.DISPATCH, town) and not may(Action.SIGN, town)
    assert Perm.CASE_CONTACT not in town
    leader = permissions_of(Role.LEADER)
    assert [a for a in Action if may(a, leader)] == [Action.SUPERVISE, Action.UNSUPERVISE]
    system = permissions_of(Role.SYSTEM_CLIENT)
    assert may(Action.EVALUATE, system) and not may(Action.CLOSE, system)
    assert not may(Action.REGISTER, permissions_of(Role.AUDIT_ADMIN))


def test_docs_show_the_current_diagram() -> None:
    text = DOC.read_text("utf-8")
    assert f"```mermaid\n{render_mermaid()}```" in text, "run: python -m cityops.cases.flow.table"
    for action in Action:
        assert f"`{action.value}`" in text, action
