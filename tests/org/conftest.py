"""A seeded SQLite template, copied per test, for tests that change the org tree."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from cityops.auth.accounts import NewAccount, create_account
from cityops.bootstrap import seed_district
from cityops.config import Settings
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work
from cityops.kit.migrate import upgrade
from tests.conftest import ACCOUNTS, PASSWORD


def sqlite_settings(path: Path) -> Settings:
    """Settings for a SQLite file, ignoring the environment's .env."""
    url = f"sqlite+aiosqlite:///{path}"
    return Settings(database_url=url, principal_cache_seconds=0, _env_file=None)  # type: ignore[call-arg]


async def _seed_with_accounts(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            await seed_district(session, settings)
            for username, (role, org) in ACCOUNTS.items():
                await create_account(
                    session,
                    None,
                    NewAccount(username=username, role=role, org_code=org, password=PASSWORD),
                )
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with Songjiang seeded and the t_* accounts; never written to."""
    path = tmp_path_factory.mktemp("template") / "seeded.db"
    settings = sqlite_settings(path)
    upgrade(settings.database_url)
    asyncio.run(_seed_with_accounts(settings))
    return path


@pytest.fixture
def fresh_sqlite(seeded_sqlite: Path, tmp_path: Path) -> Settings:
    """A private copy of the seeded template for one test."""
    target = tmp_path / "cityops.db"
    source = sqlite3.connect(seeded_sqlite)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    return sqlite_settings(target)
