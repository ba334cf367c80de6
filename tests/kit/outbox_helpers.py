"""Helpers of the outbox tests: an engine per scenario, a hand-moved clock, signed channels."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work, utcnow
from cityops.kit.outbox.dispatcher import OutboxDispatcher
from cityops.kit.outbox.models import OutboxMessage
from cityops.kit.outbox.queue import RetryPolicy, enqueue
from cityops.kit.outbox.webhook import WebhookChannel
from tests.conftest import Backend

T = TypeVar("T")
SECRET = b"test-signing-secret-0123456789"
Sessions = async_sessionmaker[AsyncSession]


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or utcnow()

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        """Move forward."""
        self.at += timedelta(seconds=seconds)


def scenario(backend: Backend, work: Callable[[Sessions], Awaitable[T]]) -> T:
    """Run `work` in a fresh event loop with its own engine on the backend."""

    async def main() -> T:
        engine = create_engine(backend.settings.database_url)
        try:
            return await work(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def channel_name() -> str:
    """A channel nobody else's dispatcher serves: tests share one database."""
    return f"t{uuid.uuid4().hex[:10]}"


def dispatcher(
    sessions: Sessions,
    channel: str,
    client: httpx.AsyncClient,
    clock: Callable[[], datetime],
    *,
    timeout: float = 5.0,
    concurrency: int = 1,
    interval: float = 0.05,
    name: str = "test-outbox",
) -> OutboxDispatcher:
    """A dispatcher serving one test channel through a signed webhook."""
    secrets = {"test": SECRET}
    return OutboxDispatcher(
        sessions,
        {channel: WebhookChannel(client, secrets.get)},
        policy=RetryPolicy(backoff_seconds=10, backoff_max_seconds=60, timeout_seconds=timeout),
        clock=clock,
        interval=interval,
        concurrency=concurrency,
        name=name,
    )


async def put(
    sessions: Sessions,
    channel: str,
    url: str,
    now: datetime,
    *,
    key: str | None = None,
    payload: dict[str, Any] | None = None,
    max_attempts: int = 5,
    ref: str = "test:1",
) -> int:
    """Enqueue one webhook row in its own committed transaction; its id."""
    async with unit_of_work(sessions) as session:
        row = enqueue(
            session,
            channel=channel,
            topic="test.event",
            payload=payload or {"n": 1},
            owner_code="310117",
            ref=ref,
            now=now,
            max_attempts=max_attempts,
            target=url,
            secret_ref="test",
            ordering_key=key,
        )
        await session.flush()
        return row.id


async def rows(sessions: Sessions, ids: list[int]) -> dict[int, OutboxMessage]:
    """Fresh copies of some rows."""
    async with sessions() as session:
        found = await session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        return {r.id: r for r in found}


def client() -> httpx.AsyncClient:
    """An HTTP client like the platform's: no redirects, no proxies from the environment."""
    return httpx.AsyncClient(timeout=10, follow_redirects=False, trust_env=False)
