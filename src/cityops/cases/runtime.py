"""Wire the event flow into a running process: environment, bus intake, SLA scheduler."""

from __future__ import annotations

import asyncio
import logging
import signal

from fastapi import FastAPI

from cityops.cases.flow.env import TIMELINE_HOOKS, CaseEnv, Clock, TimelineHook
from cityops.cases.flow.scheduler import CaseScheduler
from cityops.config import Settings
from cityops.geo.service import DivisionIndexCache
from cityops.kit.bus import create_bus
from cityops.kit.db import create_engine, create_sessionmaker, utcnow
from cityops.kit.module import enabled_modules
from cityops.org.tree import OrgTreeCache

log = logging.getLogger(__name__)


def case_hooks(settings: Settings) -> list[TimelineHook]:
    """The timeline hooks the enabled modules contribute (they write to the outbox)."""
    return TIMELINE_HOOKS.collect(enabled_modules(settings.disabled_modules))


def start_cases(app: FastAPI) -> CaseEnv:
    """Build the case environment and start the scheduler if enabled (the manifest subscribes)."""
    state = app.state
    env = CaseEnv(
        state.settings,
        state.sessions,
        state.bus,
        state.org_tree,
        state.division_index,
        hooks=case_hooks(state.settings),  # e.g. 12345 callbacks and WeChat notices
    )
    state.cases = env
    state.case_scheduler = None
    if env.settings.scheduler:
        scheduler = CaseScheduler(env)
        scheduler.start()
        state.case_scheduler = scheduler
    return env


async def stop_cases(app: FastAPI) -> None:
    """Stop the scheduler (if it runs)."""
    scheduler: CaseScheduler | None = getattr(app.state, "case_scheduler", None)
    if scheduler is not None:
        await scheduler.stop()


async def run_scheduler(
    settings: Settings, *, interval: float | None, once: bool, clock: Clock = utcnow
) -> str:
    """Run the SLA scheduler as its own process (`cityops scheduler`) until SIGINT/SIGTERM."""
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    tree = OrgTreeCache(sessions)
    # On NATS its breaches reach every worker's screens; in-process, only its own subscribers.
    bus = create_bus(settings, sessions)
    await bus.start()
    env = CaseEnv(
        settings,
        sessions,
        bus,
        tree,
        DivisionIndexCache(sessions, tree, settings.district_code),
        clock=clock,
        hooks=case_hooks(settings),  # a breach's WeCom notice is written here too
    )
    scheduler = CaseScheduler(env, interval=interval)
    try:
        if once:
            report = await scheduler.run_once()
            return f"fired {report.count('warn')} warnings and {report.count('breach')} breaches"
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        scheduler.start()
        log.info("case scheduler running every %s s", scheduler.interval)
        await stop.wait()
        await scheduler.stop()
        return "scheduler stopped"
    finally:
        await bus.close()
        await engine.dispose()
