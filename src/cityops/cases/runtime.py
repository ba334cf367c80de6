"""Wire the event flow into a running process: environment, bus intake, SLA scheduler."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import datetime
from functools import partial
from typing import Any

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from cityops.cases.access import Actor, CaseAccess
from cityops.cases.env import CaseEnv, Clock
from cityops.cases.events import CONSUMED, publish_all
from cityops.cases.flow.scheduler import CaseScheduler
from cityops.cases.flow.service import CaseService
from cityops.cases.intake.opening import NewCase, intake
from cityops.cases.outbox_hooks import case_hooks
from cityops.config import Settings
from cityops.geo.service import DivisionIndexCache
from cityops.kit.bus import DomainEvent, InProcessBus
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work, utcnow
from cityops.kit.errors import ProblemError
from cityops.org.tree import OrgTreeCache

log = logging.getLogger(__name__)


def _occurred(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def new_case_from(event: DomainEvent) -> NewCase:
    """The report an IoT scene event, AI detection or video alarm stands for."""
    payload = event.payload
    return NewCase(
        source=CONSUMED[event.subject],
        category=str(payload["category"]),
        text=str(payload.get("text") or event.subject),
        source_key=str(payload["source_key"]),
        lon=float(payload["lon"]),
        lat=float(payload["lat"]),
        crs=str(payload.get("crs") or "wgs84"),
        occurred_at=_occurred(payload.get("occurred_at")),
    )


async def open_from_event(env: CaseEnv, event: DomainEvent) -> None:
    """Open (or recognise) the case of a consumed event; a bad event is logged and dropped."""
    try:
        data = new_case_from(event)
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("%s without a usable payload (%r): no case", event.subject, exc)
        return
    actor = Actor.system(f"bus:{event.subject}", env.settings.district_code)
    try:
        async with unit_of_work(env.sessions) as session:
            svc = CaseService(session, env)
            tree, index = await env.tree.current(), await env.index.current()
            await intake(svc, CaseAccess.everything(), actor, data, tree, index)
            events = svc.events
    except IntegrityError:
        return  # the same source key arrived twice at once; the first one opened the case
    except ProblemError as exc:
        log.warning("%s %s refused: %s", event.subject, data.source_key, exc.detail)
        return
    await publish_all(env.bus, events)


def subscribe_intake(bus: InProcessBus, env: CaseEnv) -> None:
    """Open cases from the IoT, AI and video events on the bus."""
    for subject in CONSUMED:
        bus.subscribe(subject, partial(open_from_event, env))


def start_cases(app: FastAPI) -> CaseEnv:
    """Build the case environment, subscribe to the bus and start the scheduler if enabled."""
    state = app.state
    env = CaseEnv(
        state.settings,
        state.sessions,
        state.bus,
        state.org_tree,
        state.division_index,
        hooks=case_hooks(),  # 12345 callbacks and WeChat notices go to the outbox
    )
    state.cases = env
    subscribe_intake(state.bus, env)
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
    env = CaseEnv(
        settings,
        sessions,
        InProcessBus(),  # a separate process: its events reach only its own subscribers
        tree,
        DivisionIndexCache(sessions, tree, settings.district_code),
        clock=clock,
        hooks=case_hooks(),  # a breach's WeCom notice is written here too
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
        await engine.dispose()
