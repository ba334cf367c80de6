"""Run Alembic migrations programmatically (the `cityops migrate` command and tests)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine


def alembic_config(database_url: str, module_versions: Sequence[str] = ()) -> Config:
    """An Alembic config: the shipped migrations, the modules' own branches, the database."""
    config = Config()
    shipped = resources.files("cityops") / "migrations"
    config.set_main_option("script_location", str(shipped))
    # A plug-in module's tables migrate on a branch of their own, found by its manifest.
    locations = [str(shipped / "versions"), *module_versions]
    config.set_main_option("version_locations", os.pathsep.join(locations))
    config.set_main_option("path_separator", "os")
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def module_versions() -> list[str]:
    """The version folders of the enabled modules' own migrations."""
    from cityops.config import get_settings
    from cityops.kit.module import enabled_modules

    settings = get_settings()
    modules = enabled_modules(settings.disabled_modules)
    return [str(resources.files(m.migrations)) for m in modules if m.migrations]


def upgrade(database_url: str, revision: str = "heads") -> None:
    """Bring the database schema up to `revision`."""
    command.upgrade(alembic_config(database_url, module_versions()), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the schema back to `revision`."""
    command.downgrade(alembic_config(database_url, module_versions()), revision)


def applied(database_url: str) -> set[str]:
    """The revisions the database is at now; empty for a database without a schema."""

    async def read() -> set[str]:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: set(MigrationContext.configure(sync).get_current_heads())
                )
        finally:
            await engine.dispose()

    return asyncio.run(read())
