"""Migration 0011 builds exactly the town_page and town_link tables of the models, and goes down."""

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
from tests.conftest import Backend

TABLES = {"town_page", "town_link"}


def _differences(url: str) -> list[Any]:
    load_all_models()

    def compare(connection: Any) -> list[Any]:
        found = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        return [d for d in found if any(t in repr(d) for t in TABLES)]

    async def run() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_the_tables_match_the_models_on_both_backends(backend: Backend) -> None:
    assert _differences(backend.settings.database_url) == []


def test_0011_goes_up_and_down(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    url = f"sqlite+aiosqlite:///{path}"

    def tables() -> set[str]:
        with sqlite3.connect(path) as conn:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    upgrade(url, "0011")
    assert tables() >= TABLES
    downgrade(url, "0010")
    assert not TABLES & tables()
    upgrade(url, "head")
    assert tables() >= TABLES
