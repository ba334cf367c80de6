"""Sign-in timing by path: an unknown name must not answer faster or slower than a known one.

Run: .venv/bin/python bench/bench_signin_timing.py [--rounds 25]

Workload: through the real sign-in service (Argon2id, SQLite in a temporary directory, one
transaction per try, as the API does), interleaved round after round so drift cancels:
- anchor: a wrong password for an existing account (the path that must run the hash);
- an unknown name; a locked (name, address) pair of an existing account and of an unknown
  name (the right password, refused); an inactive account.
Reported: the median milliseconds per path and its ratio to the anchor. Goal: what an attacker
can compare is a known and an unknown name in the same state, so the unknown name / wrong
password ratio and the locked unknown name / locked account ratio must each lie within
0.8–1.25 (the hash dominates, not whether the account exists). The order of the paths turns
round by round, so no path always runs first. Exit status: 0 goal met, 1 goal missed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import update

from cityops.auth import service
from cityops.auth.accounts import NewAccount, create_account
from cityops.auth.models import Account
from cityops.auth.roles import Role
from cityops.bootstrap import seed_district
from cityops.config import Settings
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work
from cityops.kit.migrate import upgrade

PASSWORD = "Bench-Passw0rd!"
WRONG = "Wrong-Passw0rd!"
GOAL = (0.8, 1.25)


async def run(settings: Settings, rounds: int) -> dict[str, float]:
    """Median milliseconds per sign-in path."""
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    async with unit_of_work(sessions) as session:
        await seed_district(session, settings)
        for name in ("known", "locked", "inactive"):
            await create_account(
                session, None, NewAccount(name, Role.TOWN_OPERATOR, "310117102", password=PASSWORD)
            )
        await session.execute(
            update(Account).where(Account.username == "inactive").values(active=False)
        )

    async def login(username: str, password: str, ip: str) -> None:
        async with unit_of_work(sessions) as session:
            await service.login(session, settings, username, password, ip)

    for name in ("locked", "ghost-locked"):  # lock both pairs from 10.0.0.9
        for _ in range(settings.login_max_failures):
            await login(name, WRONG, "10.0.0.9")
    paths: dict[str, Callable[[int], Awaitable[None]]] = {
        # a fresh address per round for the wrong password, so the anchor never locks
        "wrong password (anchor)": lambda n: login("known", WRONG, f"10.1.{n // 4}.{n % 4}"),
        "unknown name": lambda n: login(f"ghost{n}", WRONG, "10.0.0.1"),
        "locked account": lambda n: login("locked", PASSWORD, "10.0.0.9"),
        "locked unknown name": lambda n: login("ghost-locked", PASSWORD, "10.0.0.9"),
        "inactive account": lambda n: login("inactive", PASSWORD, f"10.2.{n // 4}.{n % 4}"),
    }
    times: dict[str, list[float]] = {name: [] for name in paths}
    names = list(paths)
    for n in range(rounds + 2):
        turn = n % len(names)
        for name in names[turn:] + names[:turn]:
            path = paths[name]
            start = time.perf_counter()
            await path(n)
            if n >= 2:  # two warm-up rounds
                times[name].append((time.perf_counter() - start) * 1000)
    await engine.dispose()
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    """Run, print the table, exit 1 if a path's ratio to the anchor leaves the goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        settings = Settings(  # type: ignore[call-arg]
            database_url=url, data_key_file=Path(tmp) / "data.key", _env_file=None
        )
        medians = asyncio.run(run(settings, args.rounds))
    anchor = medians["wrong password (anchor)"]
    print(f"{'path':28} {'median ms':>10} {'/anchor':>8}")
    for name, ms in medians.items():
        print(f"{name:28} {ms:10.1f} {ms / anchor:8.2f}")
    ok = True
    for unknown, known in (
        ("unknown name", "wrong password (anchor)"),
        ("locked unknown name", "locked account"),
    ):
        ratio = medians[unknown] / medians[known]
        inside = GOAL[0] <= ratio <= GOAL[1]
        ok &= inside
        print(f"{unknown} / {known}: {ratio:.2f}{'' if inside else '  <- outside goal'}")
    print(f"goal: each within {GOAL[0]}–{GOAL[1]}: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
