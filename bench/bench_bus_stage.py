"""What staging one bus event costs a transaction on PostgreSQL: the bus's share of (b).

    .venv/bin/python bench/bench_bus_stage.py [--transactions 1500] [--rounds 3]
        [--pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/cityops_bench_bus_stage]

A diagnostic beside bench_bus.py (b), on a NEW database (dropped after): the client CPU
(`time.process_time`, so other load on the machine counts little) of a transaction that
inserts one row, beside the same transaction staging one synthetic event as the NATS bus does
(`stage_event`: one Core INSERT at commit), and as it did before (an ORM outbox row through
`enqueue`), in alternating rounds. It prints each round, the extra per event and the ratios.
No goal of its own: exit 0 when it ran, 2 when PostgreSQL is not there.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work, utcnow
from cityops.kit.events import Event
from cityops.kit.jetstream.names import Names, msg_id
from cityops.kit.jetstream.relay import BUS_CHANNEL, stage_event
from cityops.kit.outbox.models import OutboxMessage
from cityops.kit.outbox.queue import enqueue

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/cityops_bench_bus_stage"
NAMES = Names("bstage")


class StageEvent(Event):
    """Synthetic: an event the size of a case's."""

    name = "bench.stage"
    pad: str = ""


def an_event() -> StageEvent:
    """A new synthetic event with a unique key."""
    return StageEvent(
        owner_code="310117", key=uuid.uuid4().hex, occurred_at=datetime.now(UTC), pad="x" * 400
    )


def none(session: AsyncSession) -> None:
    """Stage nothing: the anchor."""


def core(session: AsyncSession) -> None:
    """Stage as the NATS bus does now."""
    stage_event(session, NAMES, an_event(), max_attempts=12, grace=5)


def orm(session: AsyncSession) -> None:
    """Stage as the NATS bus did before: an ORM outbox row."""
    event, now = an_event(), utcnow()
    mid = msg_id(event)
    enqueue(
        session,
        channel=BUS_CHANNEL,
        topic=event.name,
        payload={"subject": NAMES.subject(event.name), "msg_id": mid, "envelope": event.envelope()},
        owner_code="310117",
        ref=mid,
        now=now,
        max_attempts=12,
        wake=False,
    )


async def measure(url: str, count: int, rounds: int) -> dict[str, list[float]]:
    """Client CPU milliseconds per transaction for each way, round by round."""
    admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    name = url.rsplit("/", 1)[1]
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: OutboxMessage.__table__.create(sync))
            await conn.execute(text("CREATE TABLE change (id serial PRIMARY KEY, v text)"))
        sessions = create_sessionmaker(engine)
        ways: dict[str, Callable[[AsyncSession], None]] = {"none": none, "core": core, "orm": orm}
        found: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(rounds):
            for way, stage in ways.items():
                started = time.process_time()
                for _ in range(count):
                    async with unit_of_work(sessions) as session:
                        await session.execute(text("INSERT INTO change (v) VALUES ('a')"))
                        stage(session)
                found[way].append(1000 * (time.process_time() - started) / count)
        return found
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await admin.dispose()


def main(argv: list[str] | None = None) -> int:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a NEW database (dropped after)")
    parser.add_argument("--transactions", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    opts = parser.parse_args(argv)
    try:
        found = asyncio.run(measure(opts.pg_url, opts.transactions, opts.rounds))
    except OSError as exc:
        print(f"no PostgreSQL at {opts.pg_url}: {exc}")
        return 2
    for i in range(opts.rounds):
        print(
            f"round {i + 1}: client CPU per transaction: none {found['none'][i]:.3f} ms, "
            f"Core INSERT at commit {found['core'][i]:.3f} ms, ORM row {found['orm'][i]:.3f} ms"
        )
    base, now, before = (min(found[w]) for w in ("none", "core", "orm"))
    print(
        f"best of {opts.rounds}: staging costs {now - base:.3f} ms per event now, "
        f"{before - base:.3f} ms before; transaction ratio none/core {base / now:.2f}, "
        f"none/orm {base / before:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
