"""The one table and its pure decision; the escalation chain and plan targets (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cityops.auth.roles import Perm, Role, permissions_of
from cityops.command.flow import Action, Kind, OrderState, allowed, decide
from cityops.command.orders.escalation import Phase, StepKind, chain_for, next_after
from cityops.command.plans.schema import StepSpec, Target, Tier
from cityops.command.plans.seed import FLOOD_BODY
from cityops.command.plans.targets import Unit, resolve
from cityops.kit.errors import Conflict, Forbidden

TOWN = frozenset(permissions_of(Role.TOWN_OPERATOR))
GRID = frozenset(permissions_of(Role.GRID_WORKER))
LEADER = frozenset(permissions_of(Role.LEADER))


def test_roles_hold_the_command_permissions() -> None:
    assert Perm.COMMAND_PLAN in permissions_of(Role.DISTRICT_OFFICER)
    assert Perm.COMMAND_PLAN not in TOWN and Perm.COMMAND_MANAGE in TOWN
    assert Perm.ORDER_SIGN in GRID and Perm.COMMAND_MANAGE not in GRID
    assert Perm.ORDER_SIGN in permissions_of(Role.DEPT_HANDLER)
    assert LEADER & {Perm.COMMAND_MANAGE, Perm.ORDER_SIGN} == set()


def test_an_order_moves_by_the_table() -> None:
    move = decide(Kind.ORDER, OrderState.ISSUED, Action.SIGN, GRID)
    assert move.to == OrderState.SIGNED
    assert allowed(Kind.ORDER, OrderState.SIGNED, GRID) == ["feedback", "complete"]
    with pytest.raises(Conflict):
        decide(Kind.ORDER, OrderState.DONE, Action.SIGN, GRID)
    with pytest.raises(Forbidden):
        decide(Kind.ORDER, OrderState.ISSUED, Action.CANCEL, GRID)
    with pytest.raises(Forbidden):
        decide(Kind.INCIDENT, "declared", Action.ACTIVATE, LEADER)
    with pytest.raises(Conflict):
        decide(Kind.INCIDENT, "closed", Action.ACTIVATE, TOWN)


def test_the_chain_reminds_then_the_leader_then_the_level_above() -> None:
    due = datetime(2026, 7, 1, 8, tzinfo=UTC)
    chain = chain_for("310117102001", "310117102", timedelta(minutes=10), completes=True)
    assert [s.kind for s in chain] == [
        StepKind.REMIND,
        StepKind.LEADER,
        StepKind.ABOVE,
        StepKind.OVERDUE,
    ]
    assert chain[2].target == "310117102"
    assert next_after(chain, 1, Phase.SIGN, due, None) == (1, due + timedelta(minutes=10))
    assert next_after(chain, 3, Phase.SIGN, due, None) == (4, None)
    later = due + timedelta(hours=2)
    assert next_after(chain, 0, Phase.COMPLETE, due, later) == (3, later)


UNITS = {
    "310117": Unit("310117", "district", None),
    "310117102": Unit("310117102", "town", "310117"),
    "310117102001": Unit("310117102001", "residents_committee", "310117102"),
    "310117102002": Unit("310117102002", "village_committee", "310117102"),
}


def _resolve(target: Target, area: str) -> list[str]:
    step = StepSpec(
        tier=Tier.TOWN, target=target, task="x", levels=[4], sign_minutes=5, unit_code=None
    )
    return resolve(
        step,
        area,
        "310117",
        UNITS.get,
        lambda c: sorted(u for u in UNITS if UNITS[u].parent_code == c),
    )


def test_targets_are_relative_to_the_area() -> None:
    assert _resolve(Target.DISTRICT, "310117102001") == ["310117"]
    assert _resolve(Target.AREA_TOWN, "310117102001") == ["310117102"]
    assert _resolve(Target.AREA_COMMUNITIES, "310117102") == ["310117102001", "310117102002"]
    assert _resolve(Target.AREA_COMMUNITIES, "310117102002") == ["310117102002"]
    assert _resolve(Target.AREA_TOWN, "310117") == []


def test_the_seeded_plan_engages_more_units_at_higher_levels() -> None:
    counts = [len(FLOOD_BODY.steps_at(level)) for level in (4, 3, 2, 1)]
    assert counts == sorted(counts) and counts[0] < counts[-1]
    assert any("合成" in s for s in FLOOD_BODY.sources)
    assert all("合成" in s.task for s in FLOOD_BODY.steps)
