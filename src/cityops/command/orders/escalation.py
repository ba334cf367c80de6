"""The escalation chain of an order (pure): remind → the unit's leader → the level above.

The chain is computed when the order is issued and stored on its row with the instant of the
next step (`next_fire_at`): the database is the timer, so a restart loses nothing, and the
scheduler claims each step by a compare-and-set on `next_step` so it fires once on N workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class StepKind(StrEnum):
    """What a step of the chain does."""

    REMIND = "remind"  # 提醒: the unit itself, again
    LEADER = "leader"  # 报告本单位领导
    ABOVE = "above"  # 上报上一级
    OVERDUE = "overdue"  # 逾期未完成 (after signing: the completion deadline passed)


class Phase(StrEnum):
    """Which deadline a step watches."""

    SIGN = "sign"
    COMPLETE = "complete"


STEP_LABELS = {
    StepKind.REMIND: "签收超时提醒",
    StepKind.LEADER: "签收超时，报告单位领导",
    StepKind.ABOVE: "签收超时，上报上一级",
    StepKind.OVERDUE: "逾期未完成",
}


@dataclass(frozen=True, slots=True)
class Step:
    """One step: what, to whom, how long after its phase's deadline."""

    kind: StepKind
    phase: Phase
    target: str  # an org code
    after_seconds: int

    def to_json(self) -> dict[str, Any]:
        """The step as stored on the order row."""
        return {
            "kind": self.kind.value,
            "phase": self.phase.value,
            "target": self.target,
            "after_seconds": self.after_seconds,
        }

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Step:
        """A step read back from the row."""
        return cls(
            StepKind(raw["kind"]),
            Phase(raw["phase"]),
            str(raw["target"]),
            int(raw["after_seconds"]),
        )


def chain_for(unit: str, above: str | None, gap: timedelta, completes: bool) -> list[Step]:
    """The steps of an order to `unit` whose parent unit is `above`."""
    seconds = int(gap.total_seconds())
    steps = [
        Step(StepKind.REMIND, Phase.SIGN, unit, 0),
        Step(StepKind.LEADER, Phase.SIGN, unit, seconds),
    ]
    if above is not None:
        steps.append(Step(StepKind.ABOVE, Phase.SIGN, above, 2 * seconds))
    if completes:
        steps.append(Step(StepKind.OVERDUE, Phase.COMPLETE, above or unit, 0))
    return steps


def fire_at(step: Step, sign_due: datetime, complete_due: datetime | None) -> datetime | None:
    """When a step falls due; None for a completion step of an order with no such deadline."""
    base = sign_due if step.phase is Phase.SIGN else complete_due
    return None if base is None else base + timedelta(seconds=step.after_seconds)


def next_after(
    chain: list[Step], index: int, phase: Phase, sign_due: datetime, complete_due: datetime | None
) -> tuple[int, datetime | None]:
    """The first step from `index` on in `phase` and its instant; (len, None) when none is left."""
    for i in range(index, len(chain)):
        if chain[i].phase is phase:
            return i, fire_at(chain[i], sign_due, complete_due)
    return len(chain), None
