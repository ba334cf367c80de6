"""Deliver outbox rows: claim, send through the row's channel, record the outcome.

Each delivery is three short steps, none of which holds a transaction open over the network:

1. **claim** — in its own transaction, the row moves to `sending` with a lease, a claim id and
   one more attempt counted. On PostgreSQL the row is taken with `SELECT … FOR UPDATE SKIP
   LOCKED`; on SQLite a conditional `UPDATE … WHERE <still claimable>` whose row count says who
   won. Either way two dispatchers never hold one row at once.
2. **deliver** — the channel sends it, bounded by the policy's timeout.
3. **finish** — `UPDATE … WHERE id = ? AND claim = ?`: delivered, back to pending with a backoff,
   or failed (dead) after the last attempt or a permanent refusal.

A row is claimable when it is pending and due, or `sending` with an expired lease (its
dispatcher died mid-flight: the message is sent again, with the same delivery id, so the
receiver can drop the duplicate). A row with an `ordering_key` is claimable only when no
earlier row of that key is pending, sending or failed, so per-key order holds across any
number of dispatchers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from cityops.kit.db import unit_of_work, utcnow
from cityops.kit.outbox.models import BLOCKING, OutboxMessage, OutboxState
from cityops.kit.outbox.queue import Channel, Envelope, Outcome, RetryPolicy

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(slots=True)
class PassReport:
    """What one pass of a dispatcher did."""

    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def handled(self) -> int:
        """How many rows this pass claimed."""
        return len(self.delivered) + len(self.retrying) + len(self.failed)

    def add(self, row_id: int, state: OutboxState) -> None:
        """Count one claimed row by the state it was left in."""
        if state is OutboxState.DELIVERED:
            self.delivered.append(row_id)
        elif state is OutboxState.PENDING:
            self.retrying.append(row_id)
        else:
            self.failed.append(row_id)


def claimable(now: datetime, channels: list[str]) -> ColumnElement[bool]:
    """Rows a dispatcher with these channels may take now."""
    earlier = aliased(OutboxMessage)
    blocked = exists().where(
        earlier.ordering_key == OutboxMessage.ordering_key,
        earlier.id < OutboxMessage.id,
        earlier.state.in_([s.value for s in BLOCKING]),
    )
    due = or_(
        and_(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.state == OutboxState.SENDING, OutboxMessage.lease_until <= now),
    )
    return and_(
        OutboxMessage.channel.in_(channels),
        due,
        or_(OutboxMessage.ordering_key.is_(None), ~blocked),
    )


class OutboxDispatcher:
    """Poll the outbox and deliver what is due; several may run against one database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, Channel],
        *,
        policy: RetryPolicy | None = None,
        clock: Clock = utcnow,
        interval: float = 2.0,
        batch: int = 50,
        concurrency: int = 8,
        name: str = "outbox",
    ) -> None:
        self.sessions = sessions
        self.channels = dict(channels)
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.interval = interval
        self.batch = batch
        self.name = name
        self._limit = asyncio.Semaphore(concurrency)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    # --- the polling loop -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the polling loop is alive."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the polling loop in the running event loop."""
        if not self.running:
            self._stopping = asyncio.Event()
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._loop(), name=f"cityops-{self.name}")

    def wake(self) -> None:
        """Look for due rows now instead of at the next interval."""
        self._wake.set()

    async def stop(self, grace: float | None = None) -> None:
        """Finish the pass under way (up to `grace` seconds), then stop."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._wake.set()
        wait = self.policy.timeout_seconds + 5 if grace is None else grace
        done, _ = await asyncio.wait({task}, timeout=wait)
        if not done:  # a delivery overran: its lease expires and another dispatcher resends it
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._stopping = asyncio.Event()  # run_once may still be called by hand

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:  # a bad pass is logged; the next one tries again
                log.exception("outbox pass failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)

    # --- one pass -------------------------------------------------------------------------------

    async def run_once(self, max_rounds: int = 100) -> PassReport:
        """Deliver everything due now; rounds repeat while rows unblock later ones of their key."""
        report = PassReport()
        for _ in range(max_rounds):
            if self._stopping.is_set():
                break
            ids = await self._candidates()
            if not ids:
                break
            outcomes = await asyncio.gather(
                *(self._one(row_id) for row_id in ids), return_exceptions=True
            )
            claimed = 0
            for row_id, outcome in zip(ids, outcomes, strict=True):
                if isinstance(outcome, BaseException):  # its lease expires; a later pass retries
                    log.error("outbox row %s: %r", row_id, outcome)
                elif outcome is not None:
                    report.add(row_id, outcome)
                    claimed += 1
            if not claimed:
                break
        return report

    async def _candidates(self) -> list[int]:
        if not self.channels:
            return []
        async with self.sessions() as session:
            stmt = (
                select(OutboxMessage.id)
                .where(claimable(self.clock(), list(self.channels)))
                .order_by(OutboxMessage.id)
                .limit(self.batch)
            )
            return list((await session.scalars(stmt)).all())

    async def _one(self, row_id: int) -> OutboxState | None:
        async with self._limit:
            try:
                claimed = await self._claim(row_id)
            except DBAPIError as exc:  # busy database: the next pass tries again
                log.warning("outbox row %s not claimed this pass: %s", row_id, exc)
                return None
            if claimed is None:
                return None
            envelope, claim = claimed
            outcome = await self._deliver(envelope)
            return await self._finish(envelope, claim, outcome)

    async def _claim(self, row_id: int) -> tuple[Envelope, str] | None:
        """Take the row for this dispatcher, or None when another took it or it is not due."""
        now = self.clock()
        claim = str(uuid.uuid4())
        lease = now + self.policy.lease
        condition = and_(OutboxMessage.id == row_id, claimable(now, list(self.channels)))
        async with unit_of_work(self.sessions) as session:
            if session.get_bind().dialect.name == "postgresql":
                stmt = (
                    select(OutboxMessage)
                    .where(condition)
                    .with_for_update(skip_locked=True, of=OutboxMessage)
                )
                row = await session.scalar(stmt)
                if row is None:
                    return None
                row.state, row.lease_until, row.claim = OutboxState.SENDING, lease, claim
                row.attempts += 1
                row.updated_at = now
                await session.flush()
                return Envelope.of(row), claim
            result = await session.execute(
                update(OutboxMessage)
                .where(condition)
                .values(
                    state=OutboxState.SENDING,
                    lease_until=lease,
                    claim=claim,
                    attempts=OutboxMessage.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(result, "rowcount", 0) != 1:
                return None
            row = await session.get(OutboxMessage, row_id, populate_existing=True)
            assert row is not None
            return Envelope.of(row), claim

    async def _deliver(self, envelope: Envelope) -> Outcome:
        channel = self.channels[envelope.channel]
        try:
            async with asyncio.timeout(self.policy.timeout_seconds):
                return await channel.deliver(envelope)
        except TimeoutError:
            return Outcome.retry(f"no answer within {self.policy.timeout_seconds:g} s")
        except Exception as exc:  # a channel bug must not kill the pass; the row retries
            log.exception("outbox channel %s failed on row %s", envelope.channel, envelope.id)
            return Outcome.retry(f"channel error: {type(exc).__name__}")

    async def _finish(self, envelope: Envelope, claim: str, outcome: Outcome) -> OutboxState:
        """Record the outcome, if this claim still holds the row."""
        now = self.clock()
        values: dict[str, object] = {
            "lease_until": None,
            "claim": None,
            "last_status": outcome.status,
            "updated_at": now,
        }
        if outcome.ok:
            state = OutboxState.DELIVERED
            values.update(delivered_at=now, last_error="")
        elif outcome.retryable and envelope.attempt < envelope.max_attempts:
            state = OutboxState.PENDING
            values.update(
                next_attempt_at=now + self.policy.delay(envelope.attempt),
                last_error=outcome.error[:2000],
            )
        else:
            state = OutboxState.FAILED
            values["last_error"] = outcome.error[:2000]
        values["state"] = state.value
        async with unit_of_work(self.sessions) as session:
            result = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == envelope.id,
                    OutboxMessage.claim == claim,
                    OutboxMessage.state == OutboxState.SENDING,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        if getattr(result, "rowcount", 0) != 1:
            log.warning("outbox row %s: lease lost before the outcome was recorded", envelope.id)
        elif state is not OutboxState.DELIVERED:
            log.warning(
                "outbox row %s (%s) attempt %s: %s → %s",
                envelope.id,
                envelope.topic,
                envelope.attempt,
                outcome.error,
                state.value,
            )
        return state
