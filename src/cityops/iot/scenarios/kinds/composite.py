"""Two-sensor composite: key A and key B of a device both past their lines within a window."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from cityops.iot.scenarios.kinds.base import (
    Clearing,
    Firing,
    Outcome,
    Params,
    Sample,
    beyond,
    is_late,
    no_outcome,
    number,
)


@dataclass(frozen=True, slots=True)
class CompositeState:
    """Per device: each side's newest time and since when it is past its line."""

    last_a: datetime | None = None
    last_b: datetime | None = None
    past_a: datetime | None = None  # the newest reading of A past its line, while it stays
    past_b: datetime | None = None
    active: bool = False


class Composite:
    """Fire when A and B are both past their lines with readings at most `window_s` apart.

    Params: `key_a`, `line_a`, `direction_a`, `key_b`, `line_b`, `direction_b`, `window_s`.
    It clears when either side comes back within its line.
    """

    kind = "composite"

    def keys(self, params: Params) -> frozenset[str] | None:
        """Both keys."""
        return frozenset({str(params["key_a"]), str(params["key_b"])})

    def start(self, params: Params, now: datetime) -> CompositeState:
        """Nothing heard yet."""
        return CompositeState()

    def step(
        self, params: Params, state: CompositeState, sample: Sample
    ) -> tuple[CompositeState, Sequence[Outcome]]:
        """Update the side the reading belongs to, then judge both together."""
        value = number(sample.value)
        side = "a" if sample.key == params["key_a"] else "b"
        last: datetime | None = getattr(state, f"last_{side}")
        if value is None or is_late(last, sample.ts):
            return no_outcome(state)
        past = beyond(value, float(params[f"line_{side}"]), str(params[f"direction_{side}"]))
        seen = sample.ts if past else None
        if side == "a":
            new = replace(state, last_a=sample.ts, past_a=seen)
        else:
            new = replace(state, last_b=sample.ts, past_b=seen)
        if state.active and not past:
            return replace(new, active=False), (Clearing(sample.ts, f"{sample.key} 已恢复"),)
        if state.active or new.past_a is None or new.past_b is None:
            return new, ()
        if abs((new.past_a - new.past_b).total_seconds()) > float(params["window_s"]):
            return new, ()
        detail = f"{params['key_a']} 与 {params['key_b']} 同时越线"
        return replace(new, active=True), (Firing(sample.ts, 0, value, detail),)

    def resume(self, params: Params, level: int, now: datetime) -> CompositeState:
        """The state of a device whose scene event is still open (after a restart)."""
        return CompositeState(active=True)

    def tick(
        self, params: Params, state: CompositeState, now: datetime
    ) -> tuple[CompositeState, Sequence[Outcome]]:
        """Time alone changes nothing."""
        return no_outcome(state)
