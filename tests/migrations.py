"""Checks shared by the migration tests: a revision's tables against the models, up and down."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from cityops.kit.db import Base, create_engine
from cityops.kit.migrate import downgrade, upgrade
from cityops.models import load_all_models


def model_differences(url: str, tables: set[str]) -> list[Any]:
    """What autogenerate finds between the database and the models, about these tables only."""
    load_all_models()

    def compare(connection: Any) -> list[Any]:
        found = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        return [d for d in found if any(t in repr(d) for t in tables)]

    async def run() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def sqlite_tables(path: Path) -> set[str]:
    """The names of the tables in a SQLite file."""
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def assert_up_down_up(path: Path, revision: str, below: str, tables: set[str]) -> None:
    """A new SQLite file up to the revision has the tables, down to `below` not, up to head again."""
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, revision)
    assert sqlite_tables(path) >= tables, f"{revision} did not create {tables}"
    downgrade(url, below)
    assert not tables & sqlite_tables(path), f"down to {below} left {tables}"
    upgrade(url, "heads")
    assert sqlite_tables(path) >= tables, f"head lacks {tables}"
