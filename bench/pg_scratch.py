"""A scratch PostgreSQL database for a benchmark run: created empty, dropped afterwards."""

from __future__ import annotations

import uuid

import asyncpg

#: The maintenance database the scratch databases are created from.
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def pg_database(prefix: str) -> str:
    """A new, empty database named after the benchmark; its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def pg_drop(url: str) -> None:
    """Drop a scratch database, closing whatever still holds it."""
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()
