"""Alembic environment: one set of migrations for SQLite and PostgreSQL, run async."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from cityops.config import get_settings
from cityops.kit.db import Base, create_engine
from cityops.models import load_all_models

load_all_models()
target_metadata = Base.metadata


def _url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or get_settings().database_url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_url())
    async with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch operations rebuild a table (copy, DROP, rename); with foreign keys enforced
            # the DROP cascades to child rows or fails on referencing ones. SQLite ignores the
            # pragma inside a transaction, so it is set and committed before the migration's.
            await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.commit()
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = context.config.attributes.get("connection")
    if connection is None:
        asyncio.run(_run_async())
    else:
        _run(connection)
