"""No data / offline: no reading for `timeout_s`, judged on a tick with an injected `now`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from cityops.iot.scenarios.kinds.base import Clearing, Firing, Outcome, Params, Sample, no_outcome


@dataclass(frozen=True, slots=True)
class NoDataState:
    """Per device: the newest reading's time (or when watching began) and whether it fires."""

    last_ts: datetime
    active: bool = False


class NoData:
    """Fire when a device sends nothing for `timeout_s`; the next reading clears it.

    Params: `timeout_s`; `key` (optional: only that key counts; empty: any key).
    """

    kind = "no_data"

    def keys(self, params: Params) -> frozenset[str] | None:
        """The key that counts, or every key."""
        key = str(params.get("key") or "")
        return frozenset({key}) if key else None

    def start(self, params: Params, now: datetime) -> NoDataState:
        """A device not heard yet is timed from when the engine began to watch it."""
        return NoDataState(last_ts=now)

    def resume(self, params: Params, level: int, now: datetime) -> NoDataState:
        """A device whose offline event is still open: timed from `now`, already firing."""
        return NoDataState(last_ts=now, active=True)

    def step(
        self, params: Params, state: NoDataState, sample: Sample
    ) -> tuple[NoDataState, Sequence[Outcome]]:
        """A newer reading moves the mark and clears a firing; an older one changes nothing."""
        if sample.ts <= state.last_ts:
            return no_outcome(state)
        if state.active:
            return NoDataState(sample.ts), (Clearing(sample.ts, "恢复上报"),)
        return replace(state, last_ts=sample.ts), ()

    def tick(
        self, params: Params, state: NoDataState, now: datetime
    ) -> tuple[NoDataState, Sequence[Outcome]]:
        """Fire once when the silence reaches the timeout."""
        silent = (now - state.last_ts).total_seconds()
        if state.active or silent < float(params["timeout_s"]):
            return no_outcome(state)
        detail = f"已 {silent:.0f} 秒无数据（限 {float(params['timeout_s']):g} 秒）"
        return replace(state, active=True), (Firing(now, 0, silent, detail),)
