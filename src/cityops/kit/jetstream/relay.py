"""Nothing lost between commit and publish: events ride in the transactional outbox.

`stage` writes the event as an outbox row (channel `bus`) in the transaction of the change (one
INSERT at its commit), due only after a grace period. After the commit, the writing process
publishes the event itself (`publish_all`) and deletes the row in a batch. If it dies first, the row falls due and
the outbox dispatcher (any process, `cityops outbox run` included) relays it through
`BusChannel`. A relay that repeats a publish is harmless: the message id is the event's key and
JetStream drops a repeat within its duplicate window; consumers are idempotent beyond it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import OrderedDict
from datetime import timedelta
from typing import cast

import nats
import orjson
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from sqlalchemy import Delete, String, Table, any_, bindparam, delete, event, insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from cityops.kit.db import session_class_of, unit_of_work, utcnow
from cityops.kit.events import Event
from cityops.kit.jetstream.names import MSG_ID, Names, msg_id
from cityops.kit.outbox.models import OutboxMessage, OutboxState
from cityops.kit.outbox.queue import Envelope, Outcome

log = logging.getLogger(__name__)

#: The outbox channel that relays staged events to the bus.
BUS_CHANNEL = "bus"
#: Where a session keeps the message ids it staged (→ their rows' delivery ids) until commit.
_STAGED = "cityops_bus_staged"
#: Where a session keeps the outbox rows of the events it staged until it commits.
_ROWS = "cityops_bus_rows"
#: The outbox table, written through Core (a mapped class's `__table__` is typed loosely).
_OUTBOX = cast(Table, OutboxMessage.__table__)
#: Session classes whose commits write staged rows.
_WRITING: set[type[Session]] = set()
#: How long the sweeper gathers published events before deleting their rows in one statement
#: (one transaction a second however busy; well inside the relay's grace period).
_GATHER_SECONDS = 1.0
#: How many committed-but-not-yet-published events a process remembers.
_REMEMBER = 100_000


def stage_event(
    session: AsyncSession, names: Names, event: Event, *, max_attempts: int, grace: float
) -> None:
    """Keep the event's outbox row for the session's commit, due after `grace` seconds."""
    now = utcnow()
    delivery = str(uuid.uuid4())
    mid = msg_id(event)
    body = event.to_json()  # serialised once: the row keeps it, the writer publishes it
    _write_at_commit(session.sync_session)
    session.info.setdefault(_ROWS, []).append(
        {
            "delivery_id": delivery,
            "channel": BUS_CHANNEL,
            "topic": event.name[:48],
            "ordering_key": None,
            "ref": mid[:64],
            "owner_code": (event.owner_code or "")[:24],
            "target": "",
            "secret_ref": None,
            "payload": {"subject": names.subject(event.name), "msg_id": mid, "body": body.decode()},
            "state": OutboxState.PENDING.value,
            "attempts": 0,
            "max_attempts": max_attempts,
            "next_attempt_at": now + timedelta(seconds=grace),  # the writer publishes it first
            "lease_until": None,
            "claim": None,
            "last_status": None,
            "last_error": "",
            "created_at": now,
            "updated_at": now,
            "delivered_at": None,
        }
    )
    session.info.setdefault(_STAGED, {})[mid] = (delivery, body)


def _write_at_commit(session: Session) -> None:
    """Make sure commits of this session's class write the rows staged in them."""
    kind = type(session)
    if kind not in _WRITING:
        event.listen(kind, "before_commit", _write_staged)
        event.listen(kind, "after_rollback", _drop_staged)
        _WRITING.add(kind)


def _write_staged(session: Session) -> None:
    # One multi-row INSERT for the transaction's events, at its commit: no ORM object, no
    # RETURNING; a row costs about half of what an `enqueue`d one does (the bus's whole cost
    # per request in bench_bus (b) was mostly that row).
    rows = session.info.pop(_ROWS, None)
    if rows:
        session.execute(insert(_OUTBOX), rows)


def _drop_staged(session: Session) -> None:
    session.info.pop(_ROWS, None)


class Sweeper:
    """Hear which staged events committed; delete their rows once they are published."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.committed: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._doomed: list[str] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.deleted = 0

    def listen(self) -> None:
        """Follow the commits and rollbacks of the factory's sessions."""
        session_class = session_class_of(self.sessions)
        event.listen(session_class, "after_commit", self._after_commit)
        event.listen(session_class, "after_rollback", self._after_rollback)
        self._task = asyncio.create_task(self._loop(), name="cityops-bus-sweeper")

    def _after_commit(self, session: Session) -> None:
        staged: dict[str, tuple[str, bytes]] | None = session.info.pop(_STAGED, None)
        if staged:
            self.committed.update(staged)
            while len(self.committed) > _REMEMBER:  # never published here: the relay has them
                self.committed.popitem(last=False)

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(_STAGED, None)

    def is_committed(self, mid: str) -> bool:
        """Whether a committed transaction kept this event in the outbox."""
        return mid in self.committed

    def body(self, mid: str) -> bytes | None:
        """The JSON a committed transaction kept for this event (None: not one of ours)."""
        found = self.committed.get(mid)
        return found[1] if found is not None else None

    def published(self, mid: str) -> None:
        """The event is on the stream: its outbox row may go."""
        found = self.committed.pop(mid, None)
        if found is not None:
            self._doomed.append(found[0])
            self._wake.set()

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            # Gather the acknowledgements of a burst into one DELETE: one commit, not one each.
            await asyncio.sleep(_GATHER_SECONDS)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # rows left behind are relayed again: harmless repeats
                log.exception("bus sweeper: outbox rows not deleted")

    async def flush(self) -> None:
        """Delete the rows of every event published so far (in batches)."""
        while self._doomed:
            batch, self._doomed = self._doomed[:500], self._doomed[500:]
            async with unit_of_work(self.sessions) as session:
                await session.execute(_deleting(session, batch))
            self.deleted += len(batch)

    async def close(self) -> None:
        """Delete what is due, then stop listening."""
        session_class = session_class_of(self.sessions)
        with contextlib.suppress(Exception):
            event.remove(session_class, "after_commit", self._after_commit)
            event.remove(session_class, "after_rollback", self._after_rollback)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            await self.flush()


def _deleting(session: AsyncSession, batch: list[str]) -> Delete:
    """The DELETE of a batch of published events' rows (not those a relay has claimed)."""
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter: the same statement for any batch size, prepared once per
        # connection (an IN list of n values is a new statement, prepared again, for each n).
        chosen = OutboxMessage.delivery_id == any_(bindparam("batch", batch, ARRAY(String)))
    else:
        chosen = OutboxMessage.delivery_id.in_(batch)
    return (
        delete(OutboxMessage)
        .where(chosen, OutboxMessage.state == OutboxState.PENDING.value)
        .execution_options(synchronize_session=False)
    )


class BusChannel:
    """The outbox channel that publishes a staged event its writer did not (it died)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._nc: NatsClient | None = None
        self._lock = asyncio.Lock()

    async def _client(self) -> NatsClient:
        async with self._lock:
            if self._nc is None or self._nc.is_closed:
                self._nc = await nats.connect(
                    self.url, name="cityops-relay", max_reconnect_attempts=-1, connect_timeout=5
                )
            return self._nc

    async def deliver(self, envelope: Envelope) -> Outcome:
        """Publish once with the event's message id; a repeat is dropped by the stream."""
        payload = envelope.payload
        try:
            js = (await self._client()).jetstream()
            # "body" since the JSON is kept as written; "envelope" in rows staged before that.
            body = payload.get("body")
            await js.publish(
                str(payload["subject"]),
                str(body).encode() if body is not None else orjson.dumps(payload["envelope"]),
                headers={MSG_ID: str(payload["msg_id"])},
                timeout=5,
            )
        except (NatsError, OSError, TimeoutError) as exc:
            return Outcome.retry(f"bus: {type(exc).__name__}")
        except KeyError as exc:
            return Outcome.permanent(f"not a staged event: no {exc}")
        return Outcome.delivered()

    async def close(self) -> None:
        """Drop the connection."""
        if self._nc is not None and not self._nc.is_closed:
            with contextlib.suppress(NatsError):
                await self._nc.close()
