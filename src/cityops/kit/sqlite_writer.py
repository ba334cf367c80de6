"""One writer at a time per SQLite database in a process, queued in arrival order.

SQLite lets one connection write at a time. Left to itself, every request that wants to write
starts at once and all but one spin in SQLite's busy handler, which sleeps 1, 2, 5 … 100 ms
between tries and favours no one: under load some requests waited seconds while others went
straight through (p99 2–3.5 s in bench/bench_cases.py). Here a connection about to send its
first write takes an asyncio lock for its database file; waiters queue in order and go the
moment the writer before them commits or rolls back. Reads never wait (WAL lets them run beside
the writer).

Several worker processes on one file take turns too: the writer of each process also holds an
flock on `<database>-writer`. A process whose writer finds it taken waits for it in a thread,
woken by the kernel the moment the other process lets go, instead of polling in SQLite's busy
handler (with two workers, p99 was 7–8 s). Only one writer per process waits there; the rest
queue on the asyncio lock behind it.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
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
#: Threads that wait for another process's writer; one per database is busy at a time.
_flock_waiters = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sqlite-writer")


def writes(statement: str) -> bool:
    """Whether a statement may write (anything but a read, a savepoint or a rollback)."""
    head = statement.lstrip()[:10].upper()
    if head.startswith("WITH"):
        return _WRITE_WORD.search(statement.upper()) is not None
    return not head.startswith(_READS)


def _lock(database: str) -> asyncio.Lock:
    by_file = _locks.setdefault(asyncio.get_running_loop(), {})
    return by_file.setdefault(database, asyncio.Lock())


def _no_turn(whose: str, database: str) -> OperationalError:
    return OperationalError(
        f"waiting for {whose} writer to {database}",
        None,
        Exception(f"database is locked: no write turn within {WRITE_WAIT_S:g} s"),
    )


async def _acquire(lock: asyncio.Lock, database: str) -> int:
    """Take this process's turn, then the file's; return the descriptor holding the flock."""
    deadline = time.monotonic() + WRITE_WAIT_S
    try:
        await asyncio.wait_for(lock.acquire(), WRITE_WAIT_S)
    except TimeoutError:
        raise _no_turn("this process's", database) from None
    try:
        return await _flock(database, deadline)
    except BaseException:
        lock.release()
        raise


async def _flock(database: str, deadline: float) -> int:
    """Lock `<database>-writer` against other processes: at once if free, else in a thread."""
    fd = os.open(f"{database}-writer", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        pass
    except BaseException:
        os.close(fd)
        raise
    wait = _FlockWait(fd)
    waiting = asyncio.get_running_loop().run_in_executor(_flock_waiters, wait.run)
    try:
        await asyncio.wait_for(asyncio.shield(waiting), max(deadline - time.monotonic(), 0))
    except BaseException as exc:
        wait.abandon()
        if isinstance(exc, TimeoutError):
            raise _no_turn("another process's", database) from None
        raise
    return fd


class _FlockWait:
    """A blocking flock in a thread that, once given up on, lets go as soon as it has it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.mutex = threading.Lock()
        self.finished = False
        self.abandoned = False

    def run(self) -> None:
        """Wait for the lock (in a worker thread)."""
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        finally:
            with self.mutex:
                self.finished = True
                if self.abandoned:
                    os.close(self.fd)

    def abandon(self) -> None:
        """Nobody waits any more: close the file now, or when the thread is done."""
        with self.mutex:
            self.abandoned = True
            if self.finished:
                os.close(self.fd)


def _unflock(fd: int) -> None:
    """Let other processes' writers in (closing the file drops its flock)."""
    os.close(fd)


def _raw_id(connection: Any) -> int:
    """The identity of a DBAPI connection, given it or the pool's proxy around it."""
    return id(getattr(connection, "dbapi_connection", connection))


class _Turns:
    """Which connections of one engine hold their database's turn, by DBAPI connection."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.held: dict[int, tuple[asyncio.Lock, int]] = {}

    def take(self, connection: Any) -> None:
        """Wait for the turn (inside SQLAlchemy's greenlet, as the driver awaits its calls)."""
        key = _raw_id(connection)
        if key in self.held:
            return
        lock = _lock(self.database)
        fd = await_only(_acquire(lock, self.database))
        self.held[key] = (lock, fd)

    def give_up(self, connection: Any) -> None:
        """Hand the turn on, if this connection holds it; a waiting process is woken first."""
        turn = self.held.pop(_raw_id(connection), None)
        if turn is None:
            return
        lock, fd = turn
        _unflock(fd)
        if lock.locked():
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
