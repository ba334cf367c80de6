"""Fire due escalation steps: durable timers in `command_order`, each step fired once.

A pass takes due orders. On PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED` gives each worker
rows no other holds, so it moves them all in one flush; on SQLite each row moves by a
compare-and-set on `next_step` (`UPDATE … WHERE id = ? AND next_step = ? AND state = ?`), and
only the pass whose update changed the row fires the step. Either way the step's timeline entry
and notice commit in the same transaction as the move. A worker killed mid-pass commits nothing, so the next pass fires the step;
one killed after its commit left the row moved on, so no pass fires it again. On SQLite the
conditional UPDATE alone decides, as in kit/outbox/dispatcher.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.command.flow import OrderState
from cityops.command.incidents.timeline import record
from cityops.command.models import Order
from cityops.command.orders.escalation import STEP_LABELS, Phase, Step, fire_at, next_after
from cityops.command.orders.push import Pusher
from cityops.kit.db import unit_of_work, utcnow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
#: The phase each waiting state's timers watch.
PHASE_OF_STATE = {OrderState.ISSUED.value: Phase.SIGN, OrderState.SIGNED.value: Phase.COMPLETE}


@dataclass(frozen=True, slots=True)
class Fired:
    """One step fired: which order, which step, when it was due and when it fired."""

    order_id: int
    kind: str
    target: str
    due_at: datetime
    fired_at: datetime


@dataclass(slots=True)
class PassReport:
    """What a pass fired."""

    fired: list[Fired] = field(default_factory=list)

    def count(self, kind: str | None = None) -> int:
        """How many steps fired (of one kind)."""
        return sum(1 for f in self.fired if kind is None or f.kind == kind)


class EscalationScheduler:
    """Fire what falls due; several may run against one database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        pusher: Pusher,
        *,
        clock: Clock = utcnow,
        interval: float = 1.0,
        batch: int = 200,
        name: str = "command-escalation",
    ) -> None:
        self.sessions = sessions
        self.pusher = pusher
        self.clock = clock
        self.interval = interval
        self.batch = batch
        self.name = name
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        """Run passes every `interval` seconds in the running loop."""
        if self._task is None or self._task.done():
            self._stopping = asyncio.Event()
            self._task = asyncio.create_task(self._loop(), name=f"cityops-{self.name}")

    async def stop(self) -> None:
        """Finish the pass under way, then stop."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:  # a bad pass is logged; the next one tries again
                log.exception("escalation pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval)

    async def run_once(self, max_rounds: int = 1000) -> PassReport:
        """Fire everything due now, batch after batch."""
        report = PassReport()
        for _ in range(max_rounds):
            fired = await self._batch()
            report.fired.extend(fired)
            if not fired:
                break
        return report

    async def _batch(self) -> list[Fired]:
        now = self.clock()
        fired: list[Fired] = []
        async with unit_of_work(self.sessions) as session:
            stmt = (
                select(Order)
                .where(Order.next_fire_at <= now, Order.state.in_(list(PHASE_OF_STATE)))
                .order_by(Order.next_fire_at)
                .limit(self.batch)
            )
            locked = session.get_bind().dialect.name == "postgresql"
            if locked:  # the rows are this pass's until it commits: move them in one flush
                stmt = stmt.with_for_update(skip_locked=True)
            for order in (await session.scalars(stmt)).all():
                one = await self._fire(session, order, now, locked)
                if one is not None:
                    fired.append(one)
        return fired

    async def _fire(
        self, session: AsyncSession, order: Order, now: datetime, locked: bool = False
    ) -> Fired | None:
        """Move the order past its due step if no one else did; record and push the step.

        `locked`: the pass holds the row (FOR UPDATE), so the move is a plain change flushed
        with the batch; otherwise a conditional UPDATE says whether this pass won it.
        """
        chain = [Step.of(raw) for raw in order.chain]
        index = order.next_step
        if index >= len(chain):
            return None
        step, phase = chain[index], PHASE_OF_STATE[order.state]
        due = fire_at(step, order.sign_due_at, order.complete_due_at)
        following, at = next_after(
            chain, index + 1, phase, order.sign_due_at, order.complete_due_at
        )
        if locked:
            order.next_step, order.next_fire_at = following, at
        else:
            moved = await session.execute(
                update(Order)
                .where(Order.id == order.id, Order.next_step == index, Order.state == order.state)
                .values(next_step=following, next_fire_at=at)
                .execution_options(synchronize_session=False)
            )
            if getattr(moved, "rowcount", 0) != 1:
                return None  # another worker fired it
        label = STEP_LABELS[step.kind]
        record(
            session,
            order.incident_id,
            actor="系统",
            kind=f"escalate_{step.kind.value}",
            at=now,
            order_id=order.id,
            text=f"{label}：{order.unit_code} 的指令（{order.task}）→ {step.target}",
            detail={
                "step": index,
                "target": step.target,
                "due_at": due.isoformat() if due else None,
            },
        )
        self.pusher.push(
            session,
            unit=step.target,
            title=label,
            body=f"{order.unit_code}：{order.task}",
            ref=f"order:{order.id}",
            now=now,
        )
        assert due is not None
        return Fired(order.id, step.kind.value, step.target, due, now)
