"""The one writer: a bounded queue of accepted messages, flushed N rows at a time.

Producers (the MQTT consumer, HTTP pushes, the simulator) submit a job and are told after the
commit, so an MQTT message is acked and an HTTP push answered only once it is stored. A failed
flush is retried until it succeeds or the writer stops: nothing accepted is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.iot.ingest.accept import DeadRow
from cityops.iot.ingest.store import store_batch
from cityops.iot.readings import Reading
from cityops.kit.db import utcnow

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Job:
    """Readings and dead letters of one message (or one HTTP push), and whom to tell."""

    readings: Sequence[Reading]
    dead: Sequence[DeadRow] = ()
    done: Callable[[], None] | None = None  # after the commit (acks an MQTT message)
    future: asyncio.Future[None] | None = field(default=None)


@dataclass(slots=True)
class WriterStats:
    """What the writer has done since it started."""

    batches: int = 0
    readings: int = 0
    stored: int = 0  # new rows (the rest were duplicates)
    dead: int = 0
    retries: int = 0


class BatchWriter:
    """Flushes queued jobs in one transaction per `max_rows` rows or `max_wait` seconds."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_rows: int = 5000,
        max_wait: float = 0.05,
        max_jobs: int = 50_000,
        on_stored: Callable[[Sequence[Reading]], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._max_rows = max_rows
        self._max_wait = max_wait
        self._queue: asyncio.Queue[Job] = asyncio.Queue(max_jobs)
        self._on_stored = on_stored
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.stats = WriterStats()

    def start(self) -> None:
        """Start the flushing task (in the running loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def submit(self, job: Job) -> None:
        """Queue a job, waiting while the queue is full (back-pressure on the producer)."""
        await self._queue.put(job)

    def try_submit(self, job: Job) -> bool:
        """Queue a job if there is room."""
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            return False
        return True

    async def write(self, readings: Sequence[Reading], dead: Sequence[DeadRow] = ()) -> None:
        """Queue readings and wait until they are committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self.submit(Job(readings, dead, future=future))
        await future

    async def stop(self) -> None:
        """Flush what is queued, then stop."""
        self._stopping = True
        if self._task is not None:
            await self._queue.put(Job((), ()))  # wake the task
            try:
                await asyncio.wait_for(self._task, 30)
            except TimeoutError:
                self._task.cancel()
            self._task = None

    async def _gather(self) -> list[Job]:
        loop = asyncio.get_running_loop()
        jobs = [await self._queue.get()]
        rows = len(jobs[0].readings) + len(jobs[0].dead)
        deadline = loop.time() + self._max_wait
        while rows < self._max_rows:
            try:
                job = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0 or self._stopping:
                    break
                try:
                    job = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            jobs.append(job)
            rows += len(job.readings) + len(job.dead)
        return jobs

    async def _run(self) -> None:
        while not (self._stopping and self._queue.empty()):
            jobs = await self._gather()
            await self._flush(jobs)

    async def _flush(self, jobs: list[Job]) -> None:
        readings = [r for j in jobs for r in j.readings]
        dead = [d for j in jobs for d in j.dead]
        delay = 0.2
        while readings or dead:
            try:
                async with self._sessions() as session:
                    stored = await store_batch(session, readings, dead, utcnow())
                    await session.commit()
                break
            except Exception:
                # The database is away: keep the batch (nothing is acked) and try again.
                self.stats.retries += 1
                log.exception("iot batch of %d rows not stored; retrying", len(readings))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        else:
            stored = 0
        self.stats.batches += 1
        self.stats.readings += len(readings)
        self.stats.stored += stored
        self.stats.dead += len(dead)
        for job in jobs:
            if job.done is not None:
                job.done()
            if job.future is not None and not job.future.done():
                job.future.set_result(None)
        if self._on_stored is not None and readings:
            self._on_stored(readings)
