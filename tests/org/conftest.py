"""A seeded SQLite template, copied per test, for tests that change the org tree."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from cityops.config import Settings
from cityops.kit.db import in_unit_of_work
from cityops.kit.migrate import upgrade
from tests.conftest import ACCOUNTS, PASSWORD, seed_with_accounts


def sqlite_settings(path: Path) -> Settings:
    """Settings for a SQLite file, ignoring the environment's .env."""
    url = f"sqlite+aiosqlite:///{path}"
    return Settings(database_url=url, principal_cache_seconds=0, _env_file=None)  # type: ignore[call-arg]


async def _seed_with_accounts(settings: Settings) -> None:
    await in_unit_of_work(
        settings.database_url,
        lambda session: seed_with_accounts(settings, ACCOUNTS, PASSWORD, session),
    )


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
