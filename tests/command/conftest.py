"""Fixtures of the command tests: a hand-moved clock on the app, a runner for async checks."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.command.orders.push import OutboxPusher
from cityops.command.orders.scheduler import EscalationScheduler
from cityops.kit.db import create_engine, create_sessionmaker
from tests.conftest import Backend

T = TypeVar("T")
API = "/api/v1/command"


class FakeClock:
    """A clock the test moves by hand: no sleeping."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        """Move on by a timedelta's arguments; the new instant."""
        self.at = self.at + timedelta(**delta)
        return self.at


@pytest.fixture
def clock(client: TestClient) -> Iterator[FakeClock]:
    """The command API's clock, far ahead of the wall clock (the app's own timers never reach
    it), restored after the test."""
    env = client.app.state.command  # type: ignore[attr-defined]
    before = env.clock
    fake = FakeClock(datetime.now(UTC).replace(microsecond=0) + timedelta(days=3650))
    env.clock = fake
    yield fake
    env.clock = before


def run_with(
    backend: Backend, work: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]
) -> T:
    """Run async work against the backend's database on a fresh engine of its own."""

    async def go() -> T:
        engine = create_engine(backend.settings.database_url)
        try:
            return await work(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def scheduler(
    backend: Backend, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> EscalationScheduler:
    """An escalation scheduler on the backend with the test's clock."""
    return EscalationScheduler(sessions, OutboxPusher(backend.settings), clock=clock)
