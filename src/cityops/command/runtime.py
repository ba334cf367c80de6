"""Wire command and dispatch into a process: the seeded plan, the escalation scheduler."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.command.orders.push import OutboxPusher, Pusher
from cityops.command.orders.scheduler import Clock, EscalationScheduler
from cityops.command.plans.service import seed_plans
from cityops.config import Settings
from cityops.kit.db import create_engine, create_sessionmaker, utcnow

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CommandEnv:
    """What command services need from the running app."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    pusher: Pusher
    clock: Clock = utcnow
    scheduler: EscalationScheduler | None = None


async def start_command(app: FastAPI) -> CommandEnv:
    """Seed the synthetic plan once; run the escalation timers here when the scheduler is on."""
    state = app.state
    env = CommandEnv(state.settings, state.sessions, OutboxPusher(state.settings))
    await seed_plans(env.sessions, env.settings.district_code, env.clock())
    if env.settings.scheduler:
        env.scheduler = EscalationScheduler(env.sessions, env.pusher, clock=env.clock)
        env.scheduler.start()
    state.command = env
    return env


async def stop_command(app: FastAPI) -> None:
    """Stop the escalation timers (their state is in the database)."""
    env: CommandEnv | None = getattr(app.state, "command", None)
    if env is not None and env.scheduler is not None:
        await env.scheduler.stop()


async def run_escalations(
    settings: Settings, *, interval: float | None, once: bool, clock: Clock = utcnow
) -> str:
    """`cityops scheduler`'s job: fire escalation steps as they fall due, until SIGINT/SIGTERM."""
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    scheduler = EscalationScheduler(
        sessions, OutboxPusher(settings), clock=clock, interval=interval or 1.0
    )
    try:
        if once:
            report = await scheduler.run_once()
            return f"fired {report.count()} escalation steps"
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        scheduler.start()
        log.info("command escalations every %s s", scheduler.interval)
        await stop.wait()
        await scheduler.stop()
        return "escalations stopped"
    finally:
        await engine.dispose()
