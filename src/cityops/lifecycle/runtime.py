"""The life-cycle job: in the app (when the scheduler runs there) or as `cityops scheduler`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.auth import audit
from cityops.auth.audit import chain as audit_chain
from cityops.config import Settings
from cityops.kit.db import in_unit_of_work, utcnow
from cityops.kit.module import enabled_modules
from cityops.kit.retention import RETENTION_RULES, RetentionRule
from cityops.lifecycle.service import anonymise_due

log = logging.getLogger(__name__)

#: Passes of one run at most (each clears a batch in its own transaction).
MAX_PASSES = 1000


def retention_rules(settings: Settings) -> list[RetentionRule]:
    """The rules the enabled modules contribute to the retention hook point."""
    return RETENTION_RULES.collect(enabled_modules(settings.disabled_modules))


async def run_once(
    settings: Settings, now: datetime | None = None, rules: list[RetentionRule] | None = None
) -> int:
    """Anonymise every due contact, then apply every retention rule; how many contacts went."""
    at = now or utcnow()
    cleared = 0
    for _ in range(MAX_PASSES):

        async def work(session: AsyncSession) -> list[int]:
            return await anonymise_due(session, settings, at)

        ids = await in_unit_of_work(settings.database_url, work)
        cleared += len(ids)
        if not ids:
            break
    for rule in retention_rules(settings) if rules is None else rules:
        await apply_rule(settings, rule, at)
    return cleared


async def apply_rule(settings: Settings, rule: RetentionRule, at: datetime) -> int:
    """Run one rule a batch per transaction until nothing is due; each batch audited."""
    done = 0
    for _ in range(MAX_PASSES):

        async def work(session: AsyncSession) -> list[str]:
            keys = await rule.step(session, settings, at)
            if keys:
                await audit.record(
                    session,
                    action=f"retention.{rule.name}",
                    result="success",
                    actor_name="cityops-lifecycle",
                    actor_org=settings.district_code,
                    target=f"{len(keys)} {rule.data_class}",
                    detail={"keys": keys, "at": at.isoformat()},
                )
            return keys

        keys = await in_unit_of_work(settings.database_url, work)
        done += len(keys)
        if not keys:
            break
    if done:
        log.info("retention %s: %d rows", rule.name, done)
    return done


async def _every(settings: Settings, interval: float, stop: asyncio.Event) -> None:
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if stop.is_set():
            return
        try:
            cleared = await run_once(settings)
        except Exception:  # the job must outlive one bad pass; the next one retries
            log.exception("life-cycle pass failed")
        else:
            if cleared:
                log.info("anonymised the reporter contact of %d closed cases", cleared)


async def run_lifecycle(settings: Settings, *, interval: float | None, once: bool) -> str:
    """`cityops scheduler`'s life-cycle job: one pass, or every interval until SIGINT/SIGTERM."""
    audit_chain.use_key(settings)
    if once:
        return f"life cycle: anonymised {await run_once(settings)} cases"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await _every(settings, interval or settings.lifecycle_interval_seconds, stop)
    return "life-cycle job stopped"


def start_lifecycle(app: Any) -> None:
    """Run the job inside the app when its scheduler is on (the first pass after one interval)."""
    settings: Settings = app.state.settings
    app.state.lifecycle_stop = stop = asyncio.Event()
    app.state.lifecycle_task = None
    if settings.scheduler:
        job = _every(settings, settings.lifecycle_interval_seconds, stop)
        app.state.lifecycle_task = asyncio.get_running_loop().create_task(job)


async def stop_lifecycle(app: Any) -> None:
    """Stop the in-app job and wait for it."""
    app.state.lifecycle_stop.set()
    if app.state.lifecycle_task is not None:
        await app.state.lifecycle_task
