"""The grant check's cost per request: `granting()` beside a primary-key read, on a full table.

Run: .venv/bin/python bench/bench_sharing.py [--pg] [--requests 2000] [--grants 20000]

Sharing reads grants from the database on every request (no cache, so a revocation reaches
every worker at once). This measures what that costs. On a fresh database (a temporary SQLite
file, or a new PostgreSQL database with --pg), `--grants` grants (live, revoked and expired)
of 2,000 resources spread over the 18 street/town units, then, each in its own session as a
request would open it:
- anchor: a primary-key read of one grant row (the floor of any read path: one round trip);
- check: `granting(principal, kind, resource, key, at)`, the question each read path asks;
- list: `active_grants(unit, kind)`, a town's live grants (what a device list or map layer adds);
- revocation: a grant revoked in one session, then the next check in another: refused or not.
Goals, relative to the anchor measured in the same run (the machine is shared, absolute times
move with its load, which is printed): the check's median ≤ 2 × the anchor's; the list of a
town's ~180 live grants (180 rows, not one) ≤ 5 × the anchor's median; the check after a
revocation refused every time. Exit status: 0 met, 1 missed, 2 could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.auth.principal import Principal
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work, utcnow
from cityops.kit.migrate import upgrade
from cityops.kit.scope import DataScope
from cityops.sharing import active_grants, granting
from cityops.sharing.models import ShareApplication, ShareGrant
from pg_scratch import pg_database, pg_drop

TOWNS = [f"310117{n:03d}" for n in (*range(1, 7), *range(101, 112), 501)]
RESOURCES = 2_000
GOAL_RATIO = 2.0
GOAL_LIST_RATIO = 5.0


def principal(org_code: str) -> Principal:
    """A town operator of a unit."""
    return Principal(
        account_id=0, username="bench", display_name="bench", role="town_operator",
        org_code=org_code, department_id=None, scope=DataScope.of([org_code]),
        must_change_password=False, token_id=0, token_kind="session",
    )  # fmt: skip


async def fill(sessions: async_sessionmaker[AsyncSession], grants: int) -> None:
    """Applications and grants: mostly live, some revoked, some expired."""
    rng = random.Random(7)
    now = utcnow()
    per_application = 50
    async with unit_of_work(sessions) as session:
        for start in range(0, grants, per_application):
            grantee = rng.choice(TOWNS)
            application = ShareApplication(
                kind="iot.device", resource_ids=[], keys=["water_level"], purpose="bench",
                expires_at=now + timedelta(days=30), grantee_code=grantee, owner_code="310117",
                status="approved", applicant="bench", applied_at=now,
            )  # fmt: skip
            session.add(application)
            await session.flush()
            for i in range(start, min(start + per_application, grants)):
                fate = rng.random()
                session.add(
                    ShareGrant(
                        application_id=application.id,
                        kind="iot.device",
                        resource_id=f"dev-{rng.randrange(RESOURCES):05d}",
                        grantee_code=grantee,
                        owner_code="310117",
                        keys=["water_level", "rainfall"],
                        data_from=None,
                        data_until=None,
                        granted_at=now,
                        expires_at=now + timedelta(days=-1 if fate < 0.1 else 30),
                        revoked_at=now if 0.1 <= fate < 0.2 else None,
                    )
                )
                del i


async def timed(n: int, *calls: Callable[[int], Awaitable[object]]) -> list[list[float]]:
    """Milliseconds of n rounds of the calls, interleaved so each sees the same machine load."""
    took: list[list[float]] = [[] for _ in calls]
    for i in range(n):
        for one, into in zip(calls, took, strict=True):
            start = time.perf_counter()
            await one(i)
            into.append((time.perf_counter() - start) * 1000)
    return took


def p(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of the values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(url: str, requests: int, grants: int) -> int:
    """Fill, measure, print, and return the exit status."""
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    rng = random.Random(11)
    try:
        await fill(sessions, grants)
        towns = [principal(t) for t in TOWNS]

        async def anchor(i: int) -> object:
            async with unit_of_work(sessions) as session:
                return await session.get(ShareGrant, 1 + i % grants)

        async def check(i: int) -> object:
            async with unit_of_work(sessions) as session:
                return await granting(
                    session, towns[i % len(towns)], "iot.device",
                    f"dev-{rng.randrange(RESOURCES):05d}", "water_level", utcnow(),
                )  # fmt: skip

        async def listing(i: int) -> object:
            async with unit_of_work(sessions) as session:
                return await active_grants(session, TOWNS[i % len(TOWNS)], "iot.device")

        await timed(200, anchor, check)  # warm the pool and the caches of both sides
        anchor_ms, check_ms = await timed(requests, anchor, check)
        list_anchor_ms, list_ms = await timed(max(100, requests // 10), anchor, listing)
        refused, made = await revocations(sessions, towns, 50)
    finally:
        await engine.dispose()
    ratio = statistics.median(check_ms) / statistics.median(anchor_ms)
    list_ratio = statistics.median(list_ms) / statistics.median(list_anchor_ms)
    print(f"database: {url.split('://')[0]}; {grants} grants, {requests} requests each")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name, values in (("primary-key read (anchor)", anchor_ms), ("grant check", check_ms)):
        print(
            f"{name:26} median {statistics.median(values):6.3f} ms   p99 {p(values, 0.99):6.3f} ms"
            f"   {1000 / statistics.mean(values):7.0f} req/s"
        )
    print(f"check / anchor (median)    {ratio:.2f} (goal ≤ {GOAL_RATIO})")
    print(f"a town's live grants       median {statistics.median(list_ms):6.3f} ms   "
          f"p99 {p(list_ms, 0.99):6.3f} ms   / anchor {list_ratio:.2f} (goal ≤ {GOAL_LIST_RATIO})")  # fmt: skip
    print(f"refused on the next check after revocation: {refused}/{made}")
    met = ratio <= GOAL_RATIO and list_ratio <= GOAL_LIST_RATIO and refused == made > 0
    print("goals met" if met else "GOALS MISSED")
    return 0 if met else 1


async def revocations(
    sessions: async_sessionmaker[AsyncSession], towns: list[Principal], n: int
) -> tuple[int, int]:
    """Revoke live grants one by one; (checks refused next, revocations made)."""
    refused = made = 0
    for i in range(n):
        who = towns[i % len(towns)]
        async with unit_of_work(sessions) as session:
            live = await active_grants(session, who.org_code, "iot.device")
        if not live:
            continue
        target = live[0].resource_id
        made += 1
        async with unit_of_work(sessions) as session:
            await session.execute(
                update(ShareGrant)
                .where(
                    ShareGrant.grantee_code == who.org_code,
                    ShareGrant.kind == "iot.device",
                    ShareGrant.resource_id == target,
                )
                .values(revoked_at=utcnow())
            )
        async with unit_of_work(sessions) as session:
            if await granting(session, who, "iot.device", target) is None:
                refused += 1
    return refused, made


def main() -> int:
    """Parse arguments and run on the chosen database."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL on 127.0.0.1:5432")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--grants", type=int, default=4_000)
    args = parser.parse_args()
    if not args.pg:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{folder}/bench.db"
            upgrade(url)  # Alembic runs its own event loop: before ours
            return asyncio.run(run(url, args.requests, args.grants))
    try:
        url = asyncio.run(pg_database("cityops_bench_sharing"))
    except OSError as exc:
        print(f"PostgreSQL is not reachable: {exc}", file=sys.stderr)
        return 2
    try:
        upgrade(url)
        return asyncio.run(run(url, args.requests, args.grants))
    finally:
        asyncio.run(pg_drop(url))


if __name__ == "__main__":
    sys.exit(main())
