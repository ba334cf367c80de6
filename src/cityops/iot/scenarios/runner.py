"""One instance's evaluation loop: its own bounded queue, states, counters and circuit breaker.

Each instance runs in a task of its own, so one that raises or is slow only fills its own
queue: the ingest and the other instances go on (the isolation ThingsBoard's rule chains lack).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.iot.readings import DeviceInfo, Reading
from cityops.iot.scenarios.kinds import Evaluator, Firing, Outcome, Sample
from cityops.iot.scenarios.spec import RunSpec
from cityops.iot.scenarios.store import Pending, record, trip
from cityops.kit.bus import Bus, publish_all
from cityops.kit.db import unit_of_work

log = logging.getLogger(__name__)

#: At most this many queue items are evaluated before the outcomes are written and others run.
BATCH = 500
#: Attempts to write a batch's outcomes before they wait for the next batch (they stay pending).
STORE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Tick:
    """Let time pass for every watched device (the no-data kind fires on it)."""

    now: datetime


@dataclass(frozen=True, slots=True)
class RunnerEnv:
    """What every runner shares: the database, the bus, device look-up, clocks, limits."""

    sessions: async_sessionmaker[AsyncSession]
    bus: Bus
    device: Callable[[str], Awaitable[DeviceInfo | None]]
    now: Callable[[], datetime]
    clock: Callable[[], float] = time.perf_counter  # times one evaluation against the budget
    on_fired: Callable[[list[datetime]], None] = lambda _received: None
    on_tripped: Callable[[], None] = lambda: None  # the engine stops routing to it
    queue_size: int = 100_000  # readings one instance may lag behind before it sheds
    breaker_after: int = 5  # consecutive errors (or over-budget evaluations) that disable it
    budget_s: float = 0.05  # the time one evaluation may take


@dataclass
class Counters:
    """What the runner did, shown in the engine's health and on the scenario page."""

    processed: int = 0
    errors: int = 0
    consecutive: int = 0
    shed: int = 0  # readings refused because this instance's queue was full
    skipped: int = 0  # readings not evaluated because the instance is disabled
    store_errors: int = 0
    last_error: str = ""


@dataclass
class Runner:
    """Evaluate one instance's readings in order; record outcomes in batches."""

    spec: RunSpec
    evaluator: Evaluator[Any]
    env: RunnerEnv
    states: dict[str, Any] = field(default_factory=dict)
    counters: Counters = field(default_factory=Counters)
    disabled: str = ""
    _pending: list[Pending] = field(default_factory=list)
    _trip: str = ""
    _queue: asyncio.Queue[Reading | Tick | None] = field(init=False)
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self._queue = asyncio.Queue(self.env.queue_size)
        if not self.spec.enabled:
            self.disabled = "已停用"

    def start(self) -> None:
        """Start the runner's task."""
        self._task = asyncio.create_task(self._run(), name=f"scenario-{self.spec.instance_id}")

    async def stop(self) -> None:
        """Finish what is queued, then end the task."""
        if self._task is None:
            return
        await self._queue.put(None)
        await self._task
        self._task = None

    def offer(self, item: Reading | Tick) -> bool:
        """Queue a reading or a tick without waiting; False (counted) when the queue is full."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.counters.shed += 1
            return False
        return True

    async def join(self) -> None:
        """Wait until everything queued so far is evaluated and recorded."""
        await self._queue.join()

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                for item in batch:
                    if item is not None:
                        self._safely_take(item)
                await self._flush()
            except Exception:  # the directory or the bus failed: log; the runner goes on
                log.exception("scenario %s: a batch failed", self.spec.instance_id)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if None in batch:
                return
            await asyncio.sleep(0)  # let the ingest and the other instances run

    def _safely_take(self, item: Reading | Tick) -> None:
        try:
            self._take(item)
        except Exception as exc:  # e.g. a start state the instance's params cannot build
            self._failed(f"{type(exc).__name__}: {exc}")

    def _take(self, item: Reading | Tick) -> None:
        if self.disabled:
            self.counters.skipped += 1
            return
        if isinstance(item, Tick):
            for device_id, state in list(self.states.items()):
                self._evaluate(
                    device_id,
                    None,
                    lambda s: self.evaluator.tick(self.spec.params, s, item.now),
                    state,
                )
            return
        state = self.states.get(item.device_id)
        if state is None:
            state = self.evaluator.start(self.spec.params, self.env.now())
        sample = Sample(item.key, item.value, item.ts)
        self._evaluate(
            item.device_id,
            item.received_at,
            lambda s: self.evaluator.step(self.spec.params, s, sample),
            state,
        )
        self.counters.processed += 1

    def _evaluate(
        self,
        device_id: str,
        received_at: datetime | None,
        step: Callable[[Any], tuple[Any, Any]],
        state: Any,
    ) -> None:
        began = self.env.clock()
        try:
            new_state, outcomes = step(state)
        except Exception as exc:  # any bug of one evaluation stays inside this instance
            self._failed(f"{type(exc).__name__}: {exc}")
            return
        took = self.env.clock() - began
        self.states[device_id] = new_state
        self._pending.extend(Pending(device_id, o, received_at) for o in outcomes)
        if took > self.env.budget_s:
            self._failed(
                f"一次评估用时 {took * 1000:.0f} ms，超过预算 {self.env.budget_s * 1000:.0f} ms"
            )
        else:
            self.counters.consecutive = 0

    def _failed(self, reason: str) -> None:
        counters = self.counters
        counters.errors += 1
        counters.consecutive += 1
        counters.last_error = reason[:500]
        if counters.consecutive >= self.env.breaker_after and not self.disabled:
            self.disabled = f"连续 {counters.consecutive} 次评估失败，已自动停用：{reason}"[:2000]
            self._trip = self.disabled
            self.env.on_tripped()
            log.warning("scenario instance %s disabled: %s", self.spec.instance_id, reason)

    async def _flush(self) -> None:
        if not self._pending and not self._trip:
            return
        pending, reason = list(self._pending), self._trip
        devices = {p.device_id: await self.env.device(p.device_id) for p in pending}
        for attempt in range(STORE_ATTEMPTS):
            try:
                async with unit_of_work(self.env.sessions) as session:
                    events = await record(session, self.env.bus, self.spec, devices, pending)
                    if reason:
                        await trip(session, self.spec.instance_id, reason)
                break
            except Exception as exc:  # the database is away: keep the outcomes and retry
                self.counters.store_errors += 1
                log.warning("scenario %s: outcomes not stored (%r)", self.spec.instance_id, exc)
                await asyncio.sleep(min(0.1 * 2**attempt, 2.0))
        else:
            return  # still pending: written with the next batch
        del self._pending[: len(pending)]
        self._trip = "" if self._trip == reason else self._trip
        try:
            await publish_all(self.env.bus, events)
        except Exception as exc:  # a network bus relays staged events from its outbox later
            log.warning(
                "scenario %s: scene events not published now (%r)", self.spec.instance_id, exc
            )
        fired = [p.received_at for p in pending if isinstance(p.outcome, Firing) and p.received_at]
        if fired:
            self.env.on_fired(fired)

    def outcomes_waiting(self) -> list[Outcome]:
        """Outcomes evaluated but not yet stored (the database was away)."""
        return [p.outcome for p in self._pending]
