"""PostgreSQL pool: a connection is pinged before use only after resting; a dead one is replaced."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from cityops.kit.db import IDLE_BEFORE_PING_S, create_engine
from tests.conftest import PG_ADMIN_URL, require_postgres

RAW_URL = PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql")


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    require_postgres()


class SteppedClock:
    """A clock that moves only when told: rest periods are set, not waited for."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def one_connection_engine(clock: SteppedClock | None = None) -> AsyncEngine:
    """The platform's engine with a pool of one, so every checkout gets the same connection."""
    if clock is None:
        return create_engine(PG_ADMIN_URL, pool_size=1)
    return create_engine(PG_ADMIN_URL, pool_size=1, rest_clock=clock)


async def backend_pid(engine: AsyncEngine) -> int:
    """The server process behind the pooled connection (checked out and back in)."""
    async with engine.connect() as conn:
        return int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)


async def cut(pid: int) -> None:
    """End a server process from outside, as a database restart or a firewall would."""
    conn = await asyncpg.connect(RAW_URL)
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()
    await asyncio.sleep(0.05)  # the client reads the server's goodbye


def count_pings(engine: AsyncEngine) -> list[int]:
    """A list that grows by one on every ping of the engine's dialect."""
    dialect, pings = engine.sync_engine.dialect, []
    real = dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return real(dbapi_connection)

    dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


def test_a_busy_connection_is_not_pinged_and_a_rested_one_is() -> None:
    async def scenario() -> tuple[int, int]:
        clock = SteppedClock()
        engine = one_connection_engine(clock)
        pings = count_pings(engine)
        try:
            for _ in range(20):
                await backend_pid(engine)
                clock.now += IDLE_BEFORE_PING_S * 0.9  # back in use before it rested
            busy = len(pings)
            clock.now += IDLE_BEFORE_PING_S * 0.1  # now it has rested the full period
            await backend_pid(engine)
            return busy, len(pings) - busy
        finally:
            await engine.dispose()

    assert asyncio.run(scenario()) == (0, 1)


def test_a_rested_connection_cut_by_the_server_is_replaced() -> None:
    async def scenario() -> tuple[int, int]:
        clock = SteppedClock()
        engine = one_connection_engine(clock)
        try:
            before = await backend_pid(engine)
            await cut(before)
            clock.now += IDLE_BEFORE_PING_S
            return before, await backend_pid(engine)
        finally:
            await engine.dispose()

    before, after = asyncio.run(scenario())
    assert after not in (0, before)


def test_a_connection_cut_in_the_moment_after_use_fails_its_next_statement() -> None:
    # What the rest period trades away: no ping right after use. The pool is then recycled,
    # and the next checkout works again.
    async def scenario() -> int:
        engine = one_connection_engine()
        try:
            await cut(await backend_pid(engine))
            with pytest.raises(DBAPIError) as failed:
                await backend_pid(engine)
            assert failed.value.connection_invalidated
            return await backend_pid(engine)
        finally:
            await engine.dispose()

    assert asyncio.run(scenario()) > 0
