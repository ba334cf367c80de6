"""A transactional outbox: messages are rows written in the transaction of the change.

A producer calls `enqueue` inside its own unit of work, so the message commits with the change
or not at all: a rollback sends nothing, a crash after the commit loses nothing. Dispatchers
(`cityops.kit.outbox.dispatcher`) deliver the rows through channels (a signed webhook, WeCom,
the WeChat official account), retry with exponential backoff, and mark a row `failed` (dead)
after its last attempt. Rows sharing an `ordering_key` are delivered in id order: a row waits
until every earlier row of its key is delivered or discarded.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, delete, event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from cityops.kit.db import session_class_of
from cityops.kit.outbox.models import OutboxMessage, OutboxState
from cityops.kit.scope import DataScope, scoped

#: Set in a session's info by `deliver_after_commit`; read and cleared when it commits.
_WRITTEN = "cityops_outbox_written"


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a channel needs to deliver one message (a snapshot, detached from any session)."""

    id: int
    delivery_id: str
    channel: str
    topic: str
    target: str
    secret_ref: str | None
    payload: Mapping[str, Any]
    attempt: int  # this attempt's number, from 1
    max_attempts: int

    @classmethod
    def of(cls, row: OutboxMessage) -> Envelope:
        """The envelope of a claimed row."""
        return cls(
            row.id,
            row.delivery_id,
            row.channel,
            row.topic,
            row.target,
            row.secret_ref,
            dict(row.payload),
            row.attempts,
            row.max_attempts,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one delivery attempt ended."""

    ok: bool
    retryable: bool = True
    status: int | None = None  # HTTP status, or the errcode of a WeChat answer
    error: str = ""

    @classmethod
    def delivered(cls, status: int | None = None) -> Outcome:
        """The receiver accepted the message."""
        return cls(True, False, status)

    @classmethod
    def retry(cls, error: str, status: int | None = None) -> Outcome:
        """A failure worth another attempt (network, timeout, 5xx, busy)."""
        return cls(False, True, status, error)

    @classmethod
    def permanent(cls, error: str, status: int | None = None) -> Outcome:
        """A refusal that another attempt would not change (bad request, unknown recipient)."""
        return cls(False, False, status, error)


class Channel(Protocol):
    """Delivers envelopes of one channel; never raises for a failed delivery."""

    async def deliver(self, envelope: Envelope) -> Outcome:
        """Try once to deliver; say whether it worked and whether to try again."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff between attempts and the time one attempt may take.

    How many attempts a message gets is set per row (`max_attempts`) by its producer.
    """

    backoff_seconds: float = 10.0
    backoff_max_seconds: float = 3600.0
    timeout_seconds: float = 10.0

    def delay(self, attempts: int) -> timedelta:
        """Wait before the next attempt after `attempts` failed ones: base x 2^(n-1), capped."""
        exponent = max(attempts - 1, 0)
        seconds = self.backoff_seconds * (2 ** min(exponent, 32))
        return timedelta(seconds=min(seconds, self.backoff_max_seconds))

    @property
    def lease(self) -> timedelta:
        """How long a claim holds a row: well past the attempt's own deadline."""
        return timedelta(seconds=self.timeout_seconds * 2 + 30)


def enqueue(
    session: AsyncSession,
    *,
    channel: str,
    topic: str,
    payload: Mapping[str, Any],
    owner_code: str,
    ref: str,
    now: datetime,
    max_attempts: int,
    target: str = "",
    secret_ref: str | None = None,
    ordering_key: str | None = None,
    delivery_id: str | None = None,
    due_at: datetime | None = None,
    wake: bool = True,
) -> OutboxMessage:
    """Add a message to the caller's transaction; it is delivered once that commits.

    `due_at` holds it back (the bus relay leaves the writer a grace period to publish it
    itself); `wake=False` leaves the dispatcher asleep, for rows not due at once.
    """
    if wake:
        deliver_after_commit(session)
    row = OutboxMessage(
        delivery_id=delivery_id or str(uuid.uuid4()),
        channel=channel,
        topic=topic,
        ordering_key=ordering_key,
        ref=ref,
        owner_code=owner_code,
        target=target,
        secret_ref=secret_ref,
        payload=dict(payload),
        state=OutboxState.PENDING.value,
        attempts=0,
        max_attempts=max_attempts,
        next_attempt_at=due_at or now,
        last_error="",
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    return row


@dataclass(frozen=True, slots=True)
class OutboxFilter:
    """Filters of the outbox listing."""

    state: str | None = None
    channel: str | None = None
    topic: str | None = None  # a prefix, e.g. "hotline."
    ref: str | None = None


def _filtered(stmt: Select[Any], where: OutboxFilter, scope: DataScope) -> Select[Any]:
    stmt = scoped(stmt, OutboxMessage.owner_code, scope)
    if where.state:
        stmt = stmt.where(OutboxMessage.state == where.state)
    if where.channel:
        stmt = stmt.where(OutboxMessage.channel == where.channel)
    if where.topic:
        stmt = stmt.where(OutboxMessage.topic.startswith(where.topic, autoescape=True))
    if where.ref:
        stmt = stmt.where(OutboxMessage.ref == where.ref)
    return stmt


async def list_messages(
    session: AsyncSession, scope: DataScope, where: OutboxFilter, limit: int, offset: int
) -> tuple[list[OutboxMessage], int]:
    """A page of messages inside the scope, newest first, and how many match."""
    rows = _filtered(select(OutboxMessage), where, scope)
    rows = rows.order_by(OutboxMessage.id.desc()).limit(limit).offset(offset)
    total = _filtered(select(func.count()).select_from(OutboxMessage), where, scope)
    return list((await session.scalars(rows)).all()), int(await session.scalar(total) or 0)


async def get_message(
    session: AsyncSession, scope: DataScope, message_id: int, *, lock: bool = False
) -> OutboxMessage | None:
    """One message inside the scope (locked for the transaction when asked)."""
    stmt = scoped(
        select(OutboxMessage).where(OutboxMessage.id == message_id), OutboxMessage.owner_code, scope
    )
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt.execution_options(populate_existing=True))


def rearm(row: OutboxMessage, now: datetime) -> None:
    """Give a dead or discarded message a fresh set of attempts, due now."""
    row.state = OutboxState.PENDING.value
    row.attempts = 0
    row.next_attempt_at = now
    row.lease_until = None
    row.claim = None
    row.updated_at = now


def discard(row: OutboxMessage, now: datetime, why: str) -> None:
    """Give up a message; later messages of its ordering key may then go."""
    row.state = OutboxState.DISCARDED.value
    row.lease_until = None
    row.claim = None
    row.last_error = why or row.last_error
    row.updated_at = now


async def purge(session: AsyncSession, before: datetime) -> int:
    """Delete delivered and discarded messages last touched before `before`; how many."""
    result = await session.execute(
        delete(OutboxMessage)
        .where(
            OutboxMessage.state.in_([OutboxState.DELIVERED.value, OutboxState.DISCARDED.value]),
            OutboxMessage.updated_at < before,
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def deliver_after_commit(session: AsyncSession) -> None:
    """Have the dispatcher look for due messages as soon as this transaction commits.

    `enqueue` calls it; so does whatever makes an existing message due (a retry, a discard that
    frees the ones queued behind it). `wake_after_commit` hears of it once the commit is done.
    """
    session.info[_WRITTEN] = True


def wake_after_commit(sessions: async_sessionmaker[AsyncSession], wake: Callable[[], None]) -> None:
    """Call `wake` after each commit of the factory's sessions that enqueued messages.

    Only those: a dispatcher woken by every commit would query the outbox once per request
    for nothing (what it did when it listened to every domain event).
    """
    session_class = session_class_of(sessions)

    @event.listens_for(session_class, "after_commit")
    def committed(session: Session) -> None:
        if session.info.pop(_WRITTEN, False):
            wake()

    @event.listens_for(session_class, "after_rollback")
    def rolled_back(session: Session) -> None:
        session.info.pop(_WRITTEN, None)
