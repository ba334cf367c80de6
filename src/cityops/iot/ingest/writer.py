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

import orjson
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.iot.ingest.accept import DeadRow
from cityops.iot.ingest.store import store_batch
from cityops.iot.readings import Reading
from cityops.kit.db import utcnow

log = logging.getLogger(__name__)
#: Attempts before a batch the database keeps refusing (while it answers) is split up.
POISON_ATTEMPTS = 3


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
            try:
                await self._flush(jobs)
            except Exception:  # the writer must outlive any one batch
                log.exception("iot writer: a batch failed outside the store")

    async def _store(self, readings: Sequence[Reading], dead: Sequence[DeadRow]) -> int:
        async with self._sessions() as session:
            stored = await store_batch(session, readings, dead, utcnow())
            await session.commit()
        return stored

    async def _store_retrying(self, jobs: list[Job]) -> int:
        """Store jobs, waiting out an outage; a batch the database keeps refusing is split."""
        readings = [r for j in jobs for r in j.readings]
        dead = [d for j in jobs for d in j.dead]
        delay = 0.2
        for attempt in range(1, 1_000_000):
            try:
                return await self._store(readings, dead)
            except Exception as exc:
                # The database is away (or one row is refused): nothing is acked; try again.
                self.stats.retries += 1
                log.warning("iot batch of %d rows not stored (%s); retrying", len(readings), exc)
                if attempt >= POISON_ATTEMPTS and self._pg_up(exc):
                    return await self._split(jobs, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        return 0  # pragma: no cover - the loop returns or waits for ever

    @staticmethod
    def _pg_up(exc: Exception) -> bool:
        """Whether the failure is the data's, not the connection's (then splitting helps)."""
        return (
            isinstance(exc, DBAPIError)
            and not exc.connection_invalidated
            and not isinstance(exc, OperationalError | InterfaceError)
        )

    async def _split(self, jobs: list[Job], exc: Exception) -> int:
        """Store job by job; a job refused on its own is kept as a dead letter instead."""
        if len(jobs) > 1:
            return sum([await self._store_retrying([job]) for job in jobs])
        job = jobs[0]
        raw = orjson.dumps(
            [[r.device_id, r.key, str(r.value), r.ts.isoformat()] for r in job.readings]
        )
        first = job.readings[0] if job.readings else None
        letter = DeadRow(
            "store",
            "",
            first.owner_code if first else "",
            first.device_id[:64] if first else "",
            f"the store refused it: {type(exc).__name__}",
            raw,
            utcnow(),
        )
        job.readings = []
        job.dead = [letter]
        try:
            return await self._store([], [letter])
        except Exception:
            log.exception("iot: not even the dead letter of a refused job could be stored")
            return 0

    async def _flush(self, jobs: list[Job]) -> None:
        stored = await self._store_retrying(jobs)
        readings = [r for j in jobs for r in j.readings]
        self.stats.batches += 1
        self.stats.readings += len(readings)
        self.stats.stored += stored
        self.stats.dead += sum(len(j.dead) for j in jobs)
        for job in jobs:
            if job.done is not None:
                job.done()
            if job.future is not None and not job.future.done():
                job.future.set_result(None)
        if self._on_stored is not None and readings:
            self._on_stored(readings)
