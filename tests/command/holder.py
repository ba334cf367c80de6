"""A process that holds escalation timers, for the kill -9 tests: `python -m tests.command.holder
URL ISO-INSTANT MODE`. MODE `hold`: claim the due steps, say so, then wait inside the
transaction (never committing) until killed. MODE `fire`: fire them, commit, say so, wait."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.command.models import Order
from cityops.command.orders.push import OutboxPusher
from cityops.command.orders.scheduler import EscalationScheduler, Fired
from cityops.config import Settings
from cityops.kit.db import create_engine, create_sessionmaker


class Holding(EscalationScheduler):
    """Claims steps and then hangs before its commit: a worker dying mid-pass."""

    async def _fire(
        self, session: AsyncSession, order: Order, now: datetime, locked: bool = False
    ) -> Fired | None:
        fired = await super()._fire(session, order, now, locked)
        await session.flush()
        print("claimed", flush=True)
        await asyncio.Event().wait()  # killed here, the transaction still open
        return fired


async def main(url: str, at: str, mode: str) -> None:
    """Run one pass at the given instant, then wait to be killed."""
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    kind = Holding if mode == "hold" else EscalationScheduler
    instant = datetime.fromisoformat(at)
    scheduler = kind(sessions, OutboxPusher(settings), clock=lambda: instant)
    report = await scheduler.run_once()
    print(f"fired {report.count()}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
