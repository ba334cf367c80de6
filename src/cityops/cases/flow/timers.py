"""SLA timers of a case: sign-for and handle deadlines in working time, as `case_timer` rows.

A timer is armed with a time limit from the category (签收时限, 处置时限) and computed with the
work calendar; its 临期 warning falls at a share of the span (80 % by default). Suspension
(挂账) pauses every running timer, keeping the working time left; resumption restarts them from
then. An approved extension moves the handle deadline. The scheduler fires what falls due; the
rows are the only state, so a restart loses nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases.catalog.shipped import TimeLimit
from cityops.cases.models import CaseRecord, CaseTimer
from cityops.kit.workcal import MissingYearError, WorkCalendar

log = logging.getLogger(__name__)


class TimerKind(StrEnum):
    """Which deadline a timer watches."""

    SIGN = "sign"  # 签收时限
    HANDLE = "handle"  # 处置时限


class TimerState(StrEnum):
    """Life of a timer row."""

    PENDING = "pending"
    WARNED = "warned"  # 临期 raised
    BREACHED = "breached"  # 超期 raised
    DONE = "done"  # the awaited step happened (or the timer was cancelled)
    PAUSED = "paused"  # the case is suspended (挂账)


RUNNING = (TimerState.PENDING, TimerState.WARNED)
#: The timers of one case, built once (construction cost more than execution).
_TIMERS_OF_CASE = select(CaseTimer).where(CaseTimer.case_id == bindparam("case_id"))


@dataclass(frozen=True, slots=True)
class Span:
    """A deadline and its warning instant."""

    start: datetime
    due: datetime
    warn: datetime


def plan(calendar: WorkCalendar, limit: TimeLimit, start: datetime, ratio: float) -> Span:
    """The deadline of a limit from `start`, and the warning at `ratio` of its working span."""
    due = limit.deadline(calendar, start)
    return Span(start, due, warn_instant(calendar, start, due, ratio))


def warn_instant(calendar: WorkCalendar, start: datetime, due: datetime, ratio: float) -> datetime:
    """The instant at which `ratio` of the working time from `start` to `due` has passed."""
    return calendar.share_instant(start, due, ratio)


def _sync_due(case: CaseRecord, timer: CaseTimer) -> None:
    if timer.kind == TimerKind.SIGN:
        case.sign_due_at = timer.due_at
    else:
        case.handle_due_at = timer.due_at


class Timers:
    """Arm, finish, pause, resume and extend the timers of cases, in the caller's transaction."""

    def __init__(self, session: AsyncSession, calendar: WorkCalendar, warn_ratio: float) -> None:
        self.session = session
        self.calendar = calendar
        self.warn_ratio = warn_ratio
        # The timers of each case this object has touched, by kind: read once per transaction
        # (a Timers lives in one, with its CaseService), new ones added as they are armed.
        self._by_case: dict[int, dict[str, CaseTimer]] = {}

    async def _timers(self, case_id: int) -> dict[str, CaseTimer]:
        known = self._by_case.get(case_id)
        if known is None:
            # No autoflush: the rows read do not depend on unflushed changes (timers armed in
            # this transaction are in `known` already), and flushing the case here would
            # write it twice, once now and once with the timeline entry.
            with self.session.no_autoflush:
                rows = (await self.session.scalars(_TIMERS_OF_CASE, {"case_id": case_id})).all()
            known = self._by_case[case_id] = {t.kind: t for t in rows}
        return known

    async def get(self, case_id: int, kind: TimerKind) -> CaseTimer | None:
        """One timer of a case."""
        return (await self._timers(case_id)).get(kind.value)

    async def of_case(self, case_id: int) -> list[CaseTimer]:
        """Every timer of a case."""
        timers = await self._timers(case_id)
        return [timers[kind] for kind in sorted(timers)]

    async def arm(
        self, case: CaseRecord, kind: TimerKind, limit: TimeLimit, now: datetime
    ) -> CaseTimer | None:
        """Start (or restart) a timer from now; None when the calendar lacks the year."""
        try:
            span = plan(self.calendar, limit, now, self.warn_ratio)
        except MissingYearError as exc:
            log.error("case %s: no %s deadline: %s", case.id, kind.value, exc)
            return None
        timer = await self.get(case.id, kind)
        if timer is None:
            timer = CaseTimer(case_id=case.id, kind=kind.value)
            self.session.add(timer)
            self._by_case[case.id][kind.value] = timer
        timer.state = TimerState.PENDING
        timer.started_at, timer.due_at, timer.warn_at = span.start, span.due, span.warn
        timer.warned_at = timer.fired_at = None
        timer.paused_state = None
        timer.paused_due_s = timer.paused_warn_s = None
        _sync_due(case, timer)
        return timer

    async def finish(self, case: CaseRecord, kind: TimerKind) -> None:
        """Stop a timer because its step happened (or no longer applies)."""
        timer = await self.get(case.id, kind)
        if timer is not None and timer.state != TimerState.DONE:
            timer.state = TimerState.DONE

    async def rearm(self, case: CaseRecord, kind: TimerKind) -> None:
        """Run a finished timer again against the same deadline (rework); never refire."""
        timer = await self.get(case.id, kind)
        if timer is None or timer.state != TimerState.DONE:
            return
        if timer.fired_at is not None:
            timer.state = TimerState.BREACHED
        elif timer.warned_at is not None:
            timer.state = TimerState.WARNED
        else:
            timer.state = TimerState.PENDING

    async def pause(self, case: CaseRecord, now: datetime) -> None:
        """Stop the clocks of a suspended case, keeping the working time left."""
        for timer in await self.of_case(case.id):
            if timer.state not in RUNNING:
                continue
            timer.paused_state = timer.state
            left = self.calendar.working_seconds_between(now, timer.due_at)
            timer.paused_due_s = max(0.0, left)
            if timer.state == TimerState.PENDING:
                warn_left = self.calendar.working_seconds_between(now, timer.warn_at)
                timer.paused_warn_s = max(0.0, warn_left)
            timer.state = TimerState.PAUSED

    async def resume(self, case: CaseRecord, now: datetime) -> None:
        """Restart paused clocks from now with the working time they had left."""
        for timer in await self.of_case(case.id):
            if timer.state != TimerState.PAUSED:
                continue
            timer.due_at = self.calendar.add_working_seconds(now, timer.paused_due_s or 0.0)
            if timer.paused_warn_s is not None:
                timer.warn_at = self.calendar.add_working_seconds(now, timer.paused_warn_s)
            timer.state = timer.paused_state or TimerState.PENDING
            timer.paused_state = None
            timer.paused_due_s = timer.paused_warn_s = None
            _sync_due(case, timer)

    async def extend(
        self, case: CaseRecord, now: datetime, hours: float | None, days: int | None
    ) -> tuple[datetime, datetime] | None:
        """Move the handle deadline by working hours or days; (old, new) or None without one."""
        timer = await self.get(case.id, TimerKind.HANDLE)
        if timer is None:
            return None
        old = timer.due_at
        if days:
            new = self.calendar.add_working_days(old, days)
        else:
            new = self.calendar.add_working_hours(old, hours or 0.0)
        timer.due_at = new
        if timer.state == TimerState.BREACHED and new > now:
            # A new deadline may breach again: the old breach stays on the timeline.
            timer.fired_at = None
            timer.state = TimerState.WARNED if timer.warned_at else TimerState.PENDING
        if timer.state == TimerState.PENDING:
            timer.warn_at = warn_instant(self.calendar, timer.started_at, new, self.warn_ratio)
        _sync_due(case, timer)
        return old, new
