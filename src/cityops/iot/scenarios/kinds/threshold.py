"""Threshold with duration and hysteresis, on one or more ordered lines (levels)."""

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
    back_within,
    beyond,
    is_late,
    no_outcome,
    number,
)


@dataclass(frozen=True, slots=True)
class ThresholdState:
    """Per device: the last reading's time, since when each line is passed, the level fired."""

    last_ts: datetime | None = None
    since: tuple[datetime | None, ...] = ()
    level: int = -1  # -1: not firing


class Threshold:
    """Fire when the value stays past a line for `duration_s` of reading time.

    Params: `key`, `lines` (ordered in `direction`: the first is the lowest level), `direction`
    (`above` or `below`), `duration_s`, `hysteresis`. A higher line reached while firing
    escalates the same event; it clears only when back past the first line by the hysteresis.
    """

    kind = "threshold"

    def keys(self, params: Params) -> frozenset[str] | None:
        """The one key watched."""
        return frozenset({str(params["key"])})

    def start(self, params: Params, now: datetime) -> ThresholdState:
        """Nothing heard yet."""
        return ThresholdState(since=(None,) * len(params["lines"]))

    def step(
        self, params: Params, state: ThresholdState, sample: Sample
    ) -> tuple[ThresholdState, Sequence[Outcome]]:
        """Track since when each line is passed; fire, escalate or clear."""
        value = number(sample.value)
        if value is None or is_late(state.last_ts, sample.ts):
            return no_outcome(state)
        lines = [float(x) for x in params["lines"]]
        direction = str(params["direction"])
        since = tuple(
            (state.since[i] if i < len(state.since) else None) or sample.ts
            if beyond(value, line, direction)
            else None
            for i, line in enumerate(lines)
        )
        held = float(params["duration_s"])
        reached = [
            i
            for i, t in enumerate(since)
            if t is not None and (sample.ts - t).total_seconds() >= held
        ]
        new = replace(state, last_ts=sample.ts, since=since)
        if state.level >= 0 and back_within(
            value, lines[0], direction, float(params["hysteresis"])
        ):
            return replace(new, level=-1), (
                Clearing(sample.ts, f"{value:g} 回到 {lines[0]:g} 以内"),
            )
        top = max(reached, default=-1)
        if top > state.level:
            detail = f"{params['key']}={value:g}，越过第{top + 1}级线 {lines[top]:g}"
            return replace(new, level=top), (Firing(sample.ts, top, value, detail),)
        return new, ()

    def resume(self, params: Params, level: int, now: datetime) -> ThresholdState:
        """The state of a device whose scene event is still open (after a restart)."""
        return ThresholdState(since=(None,) * len(params["lines"]), level=level)

    def tick(
        self, params: Params, state: ThresholdState, now: datetime
    ) -> tuple[ThresholdState, Sequence[Outcome]]:
        """Time alone changes nothing: duration is measured in reading time."""
        return no_outcome(state)
