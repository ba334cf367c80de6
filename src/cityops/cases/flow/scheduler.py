"""The SLA scheduler: fire 临期 warnings and 超期 breaches of case timers, each exactly once.

One loop polls the `case_timer` rows every few seconds. Each firing is its own transaction:
claim the row, change the case, append its timeline entry, commit, then publish. The claim is
what makes several workers safe: on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED` (a row another
worker holds is skipped, and once it commits the row is no longer due); on SQLite a conditional
`UPDATE … WHERE state = 'pending'` whose row count says who won. State lives only in the rows,
so a restart resumes where the last commit left off and never fires twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from cityops.cases.access import Actor, CaseAccess
from cityops.cases.catalog.shipped import LoopLevel
from cityops.cases.events import CaseDueSoon, CaseOverdue
from cityops.cases.flow.effects import escalate
from cityops.cases.flow.env import CaseEnv
from cityops.cases.flow.service import ActionInput, CaseService
from cityops.cases.flow.step import Step
from cityops.cases.flow.table import FINAL, WORKING, Action, Status, lookup
from cityops.cases.flow.timers import TimerState
from cityops.cases.models import CaseRecord, CaseTimer
from cityops.kit.bus import publish_all
from cityops.kit.db import unit_of_work
from cityops.kit.events import Event

log = logging.getLogger(__name__)

WARN = "warn"
BREACH = "breach"


@dataclass(frozen=True, slots=True)
class Fired:
    """One firing this worker won."""

    timer_id: int
    case_id: int
    kind: str
    fire: str  # warn | breach
    escalated: bool = False


@dataclass(slots=True)
class Report:
    """What one pass fired."""

    fired: list[Fired] = field(default_factory=list)

    def count(self, fire: str) -> int:
        """How many firings of one kind (warn or breach)."""
        return sum(1 for f in self.fired if f.fire == fire)


def _due(fire: str, now: datetime) -> ColumnElement[bool]:
    """The condition under which a timer row is due for a firing."""
    if fire == WARN:
        return and_(
            CaseTimer.state == TimerState.PENDING,
            CaseTimer.warn_at <= now,
            CaseTimer.due_at > now,
        )
    return and_(
        CaseTimer.state.in_([TimerState.PENDING, TimerState.WARNED]), CaseTimer.due_at <= now
    )


class CaseScheduler:
    """Poll due timers and fire them; several may run against one database."""

    def __init__(
        self,
        env: CaseEnv,
        *,
        interval: float | None = None,
        batch: int = 200,
        name: str = "scheduler",
    ) -> None:
        self.env = env
        self.interval = interval or env.settings.scheduler_interval_seconds
        self.batch = batch
        self.actor = Actor.system(name, env.settings.district_code)
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the polling loop is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the polling loop in the running event loop."""
        if not self.running:
            self._task = asyncio.create_task(self._loop(), name=f"cityops-{self.actor.name}")

    async def stop(self) -> None:
        """Stop the polling loop and wait for it."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.run_once()
            except Exception:  # a bad pass is logged; the next one tries again
                log.exception("case scheduler pass failed")

    async def run_once(self, now: datetime | None = None) -> Report:
        """Fire everything due at `now` (the clock's time by default); return what this worker won."""
        at = now or self.env.now()
        report = Report()
        for fire in (BREACH, WARN):  # breaches first: a late pass never warns after the fact
            for timer_id in await self._candidates(fire, at):
                fired = await self._fire_one(timer_id, fire, at)
                if fired is not None:
                    report.fired.append(fired)
        return report

    async def _candidates(self, fire: str, now: datetime) -> list[int]:
        async with self.env.sessions() as session:
            stmt = (
                select(CaseTimer.id)
                .where(_due(fire, now))
                .order_by(CaseTimer.due_at, CaseTimer.id)
                .limit(self.batch)
            )
            return list((await session.scalars(stmt)).all())

    async def _fire_one(self, timer_id: int, fire: str, now: datetime) -> Fired | None:
        events: list[Event] = []
        try:
            async with unit_of_work(self.env.sessions) as session:
                timer = await self._claim(session, timer_id, fire, now)
                if timer is None:
                    return None
                svc = CaseService(session, self.env, now)
                fired = await self._apply(svc, timer, fire)
                events = svc.events
        except (StaleDataError, DBAPIError) as exc:
            # The case changed under us, or the database was busy: the claim rolled back with
            # everything else, so the next pass tries again.
            log.warning("timer %s not fired this pass: %s", timer_id, exc)
            return None
        await publish_all(self.env.bus, events)
        return fired

    async def _claim(
        self, session: AsyncSession, timer_id: int, fire: str, now: datetime
    ) -> CaseTimer | None:
        """Take the row for this worker, or None when another took it or it is no longer due."""
        state = TimerState.WARNED if fire == WARN else TimerState.BREACHED
        stamp = {"warned_at": now} if fire == WARN else {"fired_at": now}
        condition = and_(CaseTimer.id == timer_id, _due(fire, now))
        if session.get_bind().dialect.name == "postgresql":
            stmt = select(CaseTimer).where(condition).with_for_update(skip_locked=True)
            timer = await session.scalar(stmt)
            if timer is None:
                return None
            timer.state = state
            for key, value in stamp.items():
                setattr(timer, key, value)
            await session.flush()
            return timer
        result = await session.execute(
            update(CaseTimer)
            .where(condition)
            .values(state=state, **stamp)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return None
        return await session.get(CaseTimer, timer_id, populate_existing=True)

    async def _apply(self, svc: CaseService, timer: CaseTimer, fire: str) -> Fired | None:
        case = await svc.repo.get(CaseAccess.everything(), timer.case_id, for_update=True)
        if case is None or case.status in FINAL:
            timer.state = TimerState.DONE  # nothing left to watch
            return None
        detail = {"timer": timer.kind, "due_at": timer.due_at.isoformat()}
        if fire == WARN:
            await svc.log(case, self.actor, "due_soon", case.status, detail=detail)
            svc.emit(CaseDueSoon.about(case, svc.now, f"{CaseDueSoon.name}:{timer.id}", **detail))
            return Fired(timer.id, case.id, timer.kind, fire)
        case.overdue = True
        case.updated_at = svc.now
        await svc.log(case, self.actor, "overdue", case.status, detail=detail)
        svc.emit(CaseOverdue.about(case, svc.now, f"{CaseOverdue.name}:{timer.id}", **detail))
        escalated = await self._escalate(svc, case, timer)
        return Fired(timer.id, case.id, timer.kind, fire, escalated)

    async def _escalate(self, svc: CaseService, case: CaseRecord, timer: CaseTimer) -> bool:
        """Escalate a breached case when its policy says so and a loop above exists."""
        status = Status(case.status)
        if not case.escalate_on_breach or status not in WORKING:
            return False
        if case.loop_level == LoopLevel.DISTRICT:
            return False
        row = lookup(status, Action.ESCALATE)
        assert row is not None
        reason = f"超期自动升级: {timer.kind} deadline {timer.due_at.isoformat()} passed"
        step = Step(
            case, self.actor, CaseAccess.everything(), row, ActionInput(reason=reason), None, {}
        )
        await escalate(svc, step, automatic=True)
        await svc.move(step)
        return True
