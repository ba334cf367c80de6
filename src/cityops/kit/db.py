"""Database engine, sessions and the declarative base shared by every module."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, MetaData, TypeDecorator, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session

from cityops.kit.sqlite_writer import serialize_writes

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; every table of every module derives from it."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store UTC; refuse naive datetimes so local time never sneaks in."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return aware UTC datetimes."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; busy_timeout waits instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(
    url: str, *, rest_clock: Callable[[], float] = time.monotonic, **kwargs: Any
) -> AsyncEngine:
    """Create the async engine for a URL, with SQLite tuned for WAL.

    `rest_clock` times how long a pooled PostgreSQL connection rested (tests pass their own).
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        database = engine.url.database
        if database and database != ":memory:" and "mode=memory" not in url:
            # Writers of this process queue in order instead of in SQLite's busy handler.
            serialize_writes(engine, str(Path(database).resolve()))
        return engine
    # Up to 30 connections per process, as before (10 kept + 20 overflow), but all of them
    # kept once opened: an overflow connection is closed when it comes back to a full pool, so
    # with more than 10 requests in flight a worker opened a new connection (connect, type
    # introspection, every statement prepared again) every few requests — 598 in 20 s of the
    # event-flow benchmark (bench/bench_cases.py). Connections still open only on demand.
    kwargs.setdefault("pool_size", 30)
    kwargs.setdefault("max_overflow", 0)
    engine = create_async_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping_after_idle(engine, clock=rest_clock)
    return engine


#: A pooled connection that rested this long is pinged before use.
IDLE_BEFORE_PING_S = 1.0


def ping_after_idle(
    engine: AsyncEngine,
    idle_s: float = IDLE_BEFORE_PING_S,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Ping a pooled connection before use only if it rested `idle_s` or more.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip per request, about 3% of
    a case intake's server time and more of PostgreSQL's (bench/bench_cases.py). A connection
    that came back less than a second ago was working then; one that rested may have been cut
    (a database restart, a firewall's idle timeout) and is pinged, and replaced if dead.
    A connection cut while in use fails its statement either way; SQLAlchemy then recycles
    every connection of the pool that is older than the failure.
    """
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _rested_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = clock()

    @event.listens_for(pool, "checkout")
    def _ping_if_rested(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("checked_in_at", None)
        if since is None or clock() - since < idle_s:
            return  # just opened, or in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver raises, the connection is unusable
            # The pool discards this connection and checks out another (SQLAlchemy's contract
            # for checkout listeners), as pool_pre_ping would.
            raise DisconnectionError(f"pooled connection found dead: {exc}") from exc


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory; objects stay usable after the boundary commits.

    Each factory makes its sessions from a Session subclass of its own, so that session events
    (`session_class_of`) reach this factory's sessions only, not every app in the process.
    """
    own = type("UnitSession", (Session,), {})
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=own)


def session_class_of(sessions: async_sessionmaker[AsyncSession]) -> type[Session]:
    """The Session class a factory's sessions are made of: listen to session events there."""
    own: type[Session] = sessions.kw["sync_session_class"]
    return own


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """Open a session that commits on success and rolls back on error: the only commit point."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def in_unit_of_work(url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Open an engine for `url`, run `work` in one unit of work, then dispose of the engine."""
    engine = create_engine(url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()
