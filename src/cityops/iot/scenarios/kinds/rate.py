"""Rate of change per minute over a sliding window of reading time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cityops.iot.scenarios.kinds.base import (
    Clearing,
    Firing,
    Outcome,
    Params,
    Sample,
    is_late,
    no_outcome,
    number,
)

#: At most this many samples are kept per device, whatever the window (bounds the work).
MAX_SAMPLES = 256


@dataclass(frozen=True, slots=True)
class RateState:
    """Per device: the samples inside the window (oldest first) and whether it fires."""

    samples: tuple[tuple[datetime, float], ...] = ()
    active: bool = False

    @property
    def last_ts(self) -> datetime | None:
        """The newest sample's time."""
        return self.samples[-1][0] if self.samples else None


def per_minute(samples: tuple[tuple[datetime, float], ...]) -> float | None:
    """The change per minute between the oldest and newest sample (None with one sample)."""
    (t0, v0), (t1, v1) = samples[0], samples[-1]
    minutes = (t1 - t0).total_seconds() / 60
    return None if minutes <= 0 else (v1 - v0) / minutes


def too_fast(rate: float, limit: float, direction: str) -> bool:
    """Whether a rate passes the limit in the watched direction (`rise`, `fall`, `either`)."""
    if direction == "rise":
        return rate >= limit
    if direction == "fall":
        return -rate >= limit
    return abs(rate) >= limit


class RateOfChange:
    """Fire when the value changes by `limit_per_min` or more per minute over `window_s`.

    Params: `key`, `limit_per_min`, `direction`, `window_s`, `hysteresis` (per minute).
    """

    kind = "rate"

    def keys(self, params: Params) -> frozenset[str] | None:
        """The one key watched."""
        return frozenset({str(params["key"])})

    def start(self, params: Params, now: datetime) -> RateState:
        """Nothing heard yet."""
        return RateState()

    def step(
        self, params: Params, state: RateState, sample: Sample
    ) -> tuple[RateState, Sequence[Outcome]]:
        """Slide the window, then compare the rate with the limit."""
        value = number(sample.value)
        if value is None or is_late(state.last_ts, sample.ts):
            return no_outcome(state)
        oldest = sample.ts - timedelta(seconds=float(params["window_s"]))
        kept = tuple(s for s in state.samples if s[0] >= oldest)[-(MAX_SAMPLES - 1) :]
        new = replace(state, samples=(*kept, (sample.ts, value)))
        rate = per_minute(new.samples)
        if rate is None:
            return new, ()
        limit, direction = float(params["limit_per_min"]), str(params["direction"])
        if not state.active and too_fast(rate, limit, direction):
            detail = f"{params['key']} 每分钟变化 {rate:+.3g}（限值 {limit:g}）"
            return replace(new, active=True), (Firing(sample.ts, 0, value, detail),)
        calm = not too_fast(rate, limit - float(params["hysteresis"]), direction)
        if state.active and calm:
            return replace(new, active=False), (Clearing(sample.ts, f"变化率 {rate:+.3g} 恢复"),)
        return new, ()

    def resume(self, params: Params, level: int, now: datetime) -> RateState:
        """The state of a device whose scene event is still open (after a restart)."""
        return RateState(active=True)

    def tick(
        self, params: Params, state: RateState, now: datetime
    ) -> tuple[RateState, Sequence[Outcome]]:
        """Time alone changes nothing."""
        return no_outcome(state)
