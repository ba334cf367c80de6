"""Migration 0008 adds and removes case_record.component_id and reporter_email_masked on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from cityops.kit.db import create_engine
from cityops.kit.migrate import downgrade, upgrade
from tests.conftest import (
    PG_ADMIN_URL,
    _pg_create_database,
    _pg_drop_database,
    require_postgres,
)

ADDED = {"component_id", "reporter_email_masked"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        return
    require_postgres()
    url = asyncio.run(_pg_create_database(PG_ADMIN_URL))
    yield url
    asyncio.run(_pg_drop_database(PG_ADMIN_URL, url))


def _shape(url: str) -> tuple[set[str], set[str]]:
    async def read() -> tuple[set[str], set[str]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: (
                        {c["name"] for c in inspect(sync).get_columns("case_record")},
                        {str(i["name"]) for i in inspect(sync).get_indexes("case_record")},
                    )
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_migration_0008_goes_up_down_and_up(empty_database: str) -> None:
    upgrade(empty_database, "0008")
    columns, indexes = _shape(empty_database)
    assert columns >= ADDED and "ix_case_record_component_id" in indexes
    downgrade(empty_database, "0006")
    columns, indexes = _shape(empty_database)
    assert not columns & ADDED and "ix_case_record_component_id" not in indexes
    upgrade(empty_database, "heads")
    assert _shape(empty_database)[0] >= ADDED
