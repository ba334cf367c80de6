"""One writer at a time per SQLite database in a process, queued in arrival order.

SQLite lets one connection write at a time. Left to itself, every request that wants to write
starts at once and all but one spin in SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms
between tries and favours no one: under load some requests waited seconds while others went
straight through (p99 2–3.5 s in bench/bench_cases.py). Here a connection about to send its
first write takes an asyncio lock for its database file; waiters queue in order and go the
moment the writer before them commits or rolls back. Reads never wait (WAL lets them run beside
the writer). Other processes on the same file still meet SQLite's busy handler.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

#: How long a writer waits for the one before it, as SQLite's busy_timeout (kit/db.py).
WRITE_WAIT_S = 10.0
_READS = ("SELECT", "PRAGMA", "EXPLAIN", "SAVEPOINT", "RELEASE", "ROLLBACK")
_WRITE_WORD = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b")

#: The locks of each event loop by database file: an asyncio lock belongs to one loop.
_locks: WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = WeakKeyDictionary()


def writes(statement: str) -> bool:
    """Whether a statement may write (anything but a read, a savepoint or a rollback)."""
    head = statement.lstrip()[:10].upper()
    if head.startswith("WITH"):
        return _WRITE_WORD.search(statement.upper()) is not None
    return not head.startswith(_READS)


def _lock(database: str) -> asyncio.Lock:
    by_file = _locks.setdefault(asyncio.get_running_loop(), {})
    return by_file.setdefault(database, asyncio.Lock())


async def _acquire(lock: asyncio.Lock, database: str) -> None:
    try:
        await asyncio.wait_for(lock.acquire(), WRITE_WAIT_S)
    except TimeoutError:
        raise OperationalError(
            f"waiting for this process's writer to {database}",
            None,
            Exception(f"database is locked: no write turn within {WRITE_WAIT_S:g} s"),
        ) from None


def _raw_id(connection: Any) -> int:
    """The identity of a DBAPI connection, given it or the pool's proxy around it."""
    return id(getattr(connection, "dbapi_connection", connection))


class _Turns:
    """Which connections of one engine hold their database's turn, by DBAPI connection."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.held: dict[int, asyncio.Lock] = {}

    def take(self, connection: Any) -> None:
        """Wait for the turn (inside SQLAlchemy's greenlet, as the driver awaits its calls)."""
        key = _raw_id(connection)
        if key in self.held:
            return
        lock = _lock(self.database)
        await_only(_acquire(lock, self.database))
        self.held[key] = lock

    def give_up(self, connection: Any) -> None:
        """Hand the turn to the next writer, if this connection holds it."""
        lock = self.held.pop(_raw_id(connection), None)
        if lock is not None and lock.locked():
            lock.release()


def serialize_writes(engine: AsyncEngine, database: str) -> None:
    """Make the connections of `engine` take turns to write to the file `database`."""
    sync = engine.sync_engine
    dialect = sync.dialect
    turns = _Turns(database)

    @event.listens_for(sync, "before_cursor_execute")
    def wait_turn(conn: Connection, _cur: Any, statement: str, *_: Any) -> None:
        if writes(statement):
            turns.take(conn.connection)

    # The turn passes on once the COMMIT or ROLLBACK has been carried out, not before (the
    # "commit" event fires before it): a next writer that started sooner would meet the
    # finishing one in SQLite's busy handler and sleep there holding the turn. The pool's
    # reset-on-return rolls back through the same dialect method.
    commit, rollback = dialect.do_commit, dialect.do_rollback

    def do_commit(dbapi_connection: Any) -> None:
        try:
            commit(dbapi_connection)
        finally:
            turns.give_up(dbapi_connection)

    def do_rollback(dbapi_connection: Any) -> None:
        try:
            rollback(dbapi_connection)
        finally:
            turns.give_up(dbapi_connection)

    dialect.do_commit = do_commit  # type: ignore[method-assign]
    dialect.do_rollback = do_rollback  # type: ignore[method-assign]

    @event.listens_for(sync.pool, "close")
    def on_close(dbapi_connection: Any, _record: Any) -> None:
        turns.give_up(dbapi_connection)

    @event.listens_for(sync.pool, "invalidate")
    def on_invalidate(dbapi_connection: Any, _record: Any, _exc: Any) -> None:
        turns.give_up(dbapi_connection)
