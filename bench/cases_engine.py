"""The engine path: cityops's case service layer, every step its own committed transaction.

What one case costs here, as in production (cases/intake.py, cases/service.py):
intake — category lookup, idempotence check by (source, source key), CRS check, point-in-grid
lookup, routing rules, insert, reporter contact masked and encrypted (SM4-GCM/AES-GCM), the
first timeline row, duplicate search within 100 m / 72 h, domain event — then one transaction
per action of the main line: lock the row, check the workflow table, permissions and guards,
the action's effects (department lookup, SLA timers armed and stopped on the work calendar,
handling hours), the new state, an append-only timeline row, a domain event, commit.
No HTTP: callers are the adapters (12345, urban grid, bus intake) that call the same functions.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from cases_workload import MAIN_LINE, SOURCE, Report, bench_settings
from cityops.auth.roles import Role, permissions_of
from cityops.cases.access import Actor, CaseAccess
from cityops.cases.flow.env import CaseEnv
from cityops.cases.flow.service import ActionInput, CaseService
from cityops.cases.flow.table import Action
from cityops.cases.intake.contact import Contact
from cityops.cases.intake.opening import NewCase, intake
from cityops.geo.service import DivisionIndexCache
from cityops.kit.bus import InProcessBus, publish_all
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work
from cityops.kit.scope import DataScope
from cityops.org.tree import OrgTreeCache

DISTRICT = "310117"
#: The 12345 hotline system opens the cases; the district duty officer moves them along.
HOTLINE = Actor("bench-12345", DISTRICT, None, permissions_of(Role.SYSTEM_CLIENT))
OFFICER = Actor("bench-duty", DISTRICT, None, permissions_of(Role.DISTRICT_OFFICER))
ACCESS = CaseAccess(DataScope.of([DISTRICT]))
T = TypeVar("T")


@dataclass
class Phase:
    """Wall and CPU time of one phase."""

    count: int
    seconds: float
    cpu_seconds: float
    statements: int = 0  # SQL statements sent (COMMIT included), when counted

    @property
    def per_second(self) -> float:
        """Throughput of the phase."""
        return self.count / self.seconds if self.seconds else 0.0


def clock() -> tuple[float, float]:
    """Collect what earlier work left for the garbage collector, then read wall and CPU time.

    Without it a phase pays for collecting the objects of the phase before (Spiff's workflows,
    the other side's cases), and in-memory figures swing by a factor of three between rounds.
    """
    gc.collect()
    return time.perf_counter(), time.process_time()


def since(started: tuple[float, float], count: int) -> Phase:
    """The phase of `count` steps that began at `started` (from `clock`)."""
    return Phase(count, time.perf_counter() - started[0], time.process_time() - started[1])


@dataclass
class EngineResult:
    """Creation and transition throughput of one engine-path run."""

    backend: str
    concurrency: int
    created: Phase
    transitions: Phase


def new_case(report: Report) -> NewCase:
    """The intake input of a report."""
    return NewCase(
        source=SOURCE,
        category=report.category,
        text=report.text,
        source_key=report.source_key,
        lon=report.lon,
        lat=report.lat,
        address=report.address,
        contact=Contact(report.name, report.phone),
    )


class StatementCounter:
    """How many statements an engine has sent (every execute, plus every COMMIT)."""

    def __init__(self) -> None:
        self.count = 0

    def bump(self, *_: object) -> None:
        """Count one statement."""
        self.count += 1


def count_statements(engine: AsyncEngine) -> StatementCounter:
    """Count what the engine sends to the database from now on."""
    counter = StatementCounter()
    event.listen(engine.sync_engine, "before_cursor_execute", counter.bump)
    event.listen(engine.sync_engine, "commit", counter.bump)
    return counter


class EnginePath:
    """A case environment on its own engine, as a web worker or the bus intake holds it."""

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.statements = count_statements(self.engine)
        sessions = create_sessionmaker(engine=self.engine)
        settings = bench_settings(url)
        tree = OrgTreeCache(sessions)
        index = DivisionIndexCache(sessions, tree, settings.district_code)
        self.env = CaseEnv(settings, sessions, InProcessBus(), tree, index)

    async def open(self, report: Report) -> int:
        """Open one case in its own transaction; its id."""
        env = self.env
        async with unit_of_work(env.sessions) as session:
            svc = CaseService(session, env)
            tree, index = await env.tree.current(), await env.index.current()
            result = await intake(svc, ACCESS, HOTLINE, new_case(report), tree, index)
            if not result.created:
                raise RuntimeError(f"{report.source_key} was opened before")
            case_id = int(result.case.id)
        await publish_all(env.bus, svc.events)
        return case_id

    async def act(self, case_id: int, action: str, body: dict[str, str]) -> None:
        """Take one action in its own transaction."""
        env = self.env
        async with unit_of_work(env.sessions) as session:
            svc = CaseService(session, env)
            data = ActionInput(**body)
            await svc.act(ACCESS, OFFICER, case_id, Action(action), data, await env.tree.current())
        await publish_all(env.bus, svc.events)

    async def main_line(self, case_id: int) -> None:
        """Drive one case from received to closed."""
        for action, body in MAIN_LINE:
            await self.act(case_id, action, body)

    async def close(self) -> None:
        """Dispose of the engine."""
        await self.engine.dispose()


async def timed(
    items: list[T],
    streams: int,
    work: Callable[[T], Awaitable[None]],
    count: int,
    counter: StatementCounter | None = None,
) -> Phase:
    """Run `work` over the items in `streams` concurrent coroutines; count `count` steps."""
    queue = iter(items)

    async def stream() -> None:
        for item in queue:  # shared: each item is taken by exactly one stream
            await work(item)

    sent = counter.count if counter else 0
    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(stream() for _ in range(streams)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Phase(count, wall, cpu, counter.count - sent if counter else 0)


async def run_engine(
    url: str, backend: str, batch: list[Report], warmup: list[Report], concurrency: int
) -> EngineResult:
    """Open every report, then drive every case through the main line; time both phases."""
    path = EnginePath(url)
    try:
        for report in warmup:  # loads the tree, the index, the catalogue and the cipher
            await path.main_line(await path.open(report))
        ids: list[int] = []

        async def open_one(report: Report) -> None:
            ids.append(await path.open(report))

        created = await timed(batch, concurrency, open_one, len(batch), path.statements)
        steps = len(ids) * len(MAIN_LINE)
        moved = await timed(ids, concurrency, path.main_line, steps, path.statements)
        return EngineResult(backend, concurrency, created, moved)
    finally:
        await path.close()
