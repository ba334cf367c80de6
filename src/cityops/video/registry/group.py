"""Group commit: writes that arrive while one transaction runs go together in the next.

A registration storm is thousands of tiny writes; one transaction each would queue on the
database (SQLite takes one writer at a time). Each caller still waits for its own commit, so a
200 OK is only sent for a registration that is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.kit.db import unit_of_work

T = TypeVar("T")


class GroupWriter(Generic[T]):
    """Collects items and writes them in batches of up to `max_batch`, one transaction each."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        write: Callable[[AsyncSession, list[T]], Awaitable[None]],
        max_batch: int = 1000,
    ) -> None:
        self.sessions = sessions
        self.write = write
        self.max_batch = max_batch
        self._queue: list[tuple[T, asyncio.Future[None]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> None:
        """Queue one item and wait until the transaction holding it commits (or fails)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.ensure_future(self._drain())
        await done

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            try:
                async with unit_of_work(self.sessions) as session:
                    await self.write(session, [item for item, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
