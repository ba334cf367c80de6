"""The audit chain's cost: sealed appends beside plain inserts of the same row, and verification.

Run: .venv/bin/python bench/bench_audit.py [--pg] [--entries 2000] [--writers 8]

Workload, on a fresh database (a temporary SQLite file, or a new PostgreSQL database with --pg):
- anchor: N plain INSERTs of an audit entry, one transaction each, no chain (what cityops did
  before the chain);
- chained: N `auth.audit.record()` appends, one transaction each (SM3-HMACs, then the head
  moved by an UPDATE conditional on the head this process last wrote, which also takes the
  lock, and the INSERT: two statements; three more only when someone else moved the head);
  two rounds of each, the plain ones first; the better round of each counts;
- concurrent: `--writers` tasks appending N entries between them, then the chain is verified;
- verify: `cityops audit verify`'s walk over every entry written, entries per second.
Goals: chained appends ≥ 0.5 × the plain-insert rate; verification ≥ 5,000 entries/s; the chain
intact after the concurrent run. Exit status: 0 when met, 1 when missed, 2 when it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.auth import audit
from cityops.auth.audit import chain as audit_chain
from cityops.auth.models import AuditEntry
from cityops.config import Settings
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work, utcnow
from cityops.kit.migrate import upgrade
from pg_scratch import pg_database, pg_drop

GOAL_RATIO = 0.5
GOAL_VERIFY = 5_000.0


async def plain(sessions: async_sessionmaker[AsyncSession], n: int) -> float:
    """Entries per second, plain INSERTs."""
    start = time.perf_counter()
    for i in range(n):
        async with unit_of_work(sessions) as session:
            session.add(
                AuditEntry(
                    at=utcnow(),
                    actor=f"bench{i}",
                    action="bench.plain",
                    result="success",
                    detail={},
                )
            )
    return n / (time.perf_counter() - start)


async def chained(sessions: async_sessionmaker[AsyncSession], n: int, writers: int = 1) -> float:
    """Entries per second, sealed appends, from `writers` concurrent tasks."""

    async def writer(w: int) -> None:
        for i in range(n // writers):
            async with unit_of_work(sessions) as session:
                await audit.record(
                    session, action="bench.chain", result="success", actor_name=f"bench{w}-{i}"
                )

    start = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    return (n // writers * writers) / (time.perf_counter() - start)


async def run(url: str, n: int, writers: int) -> int:
    """Measure, print, and return the exit status (the schema is already migrated)."""
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    try:
        # The plain rows come first: written after the chain began, the verifier would rightly
        # call them inserted.
        plain_rates = [await plain(sessions, n) for _ in range(2)]
        chain_rates = [await chained(sessions, n) for _ in range(2)]
        concurrent = await chained(sessions, n, writers)
        start = time.perf_counter()
        async with unit_of_work(sessions) as session:
            report = await audit_chain.verify(session)
        verify_rate = report.checked / (time.perf_counter() - start)
    finally:
        await engine.dispose()
    ratio = max(chain_rates) / max(plain_rates)
    print(f"database: {url.split('://')[0]}; {n} entries per round")
    print(f"plain INSERT (anchor)   {max(plain_rates):9.0f} entries/s")
    print(
        f"chained append          {max(chain_rates):9.0f} entries/s   ratio {ratio:.2f} (goal ≥ {GOAL_RATIO})"
    )
    print(f"chained, {writers} writers      {concurrent:9.0f} entries/s")
    print(
        f"verify                  {verify_rate:9.0f} entries/s   ({report.checked} entries; goal ≥ {GOAL_VERIFY:.0f})"
    )
    print(f"chain after the run: {'intact' if report.intact else 'BROKEN'}")
    met = ratio >= GOAL_RATIO and verify_rate >= GOAL_VERIFY and report.intact
    return 0 if met else 1


def main() -> int:
    """Parse arguments and run on the chosen database."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", action="store_true", help="PostgreSQL on 127.0.0.1:5432")
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        audit_chain.use_key(
            Settings(audit_key_file=Path(folder) / "audit.key", _env_file=None)  # type: ignore[call-arg]
        )
        if not args.pg:
            url = f"sqlite+aiosqlite:///{folder}/bench.db"
            upgrade(url)  # Alembic runs its own event loop: before ours
            return asyncio.run(run(url, args.entries, args.writers))
        try:
            url = asyncio.run(pg_database("cityops_bench_audit"))
        except OSError as exc:
            print(f"PostgreSQL is not reachable: {exc}", file=sys.stderr)
            return 2
        try:
            upgrade(url)
            return asyncio.run(run(url, args.entries, args.writers))
        finally:
            asyncio.run(pg_drop(url))


if __name__ == "__main__":
    sys.exit(main())
