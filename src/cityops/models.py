"""Import every enabled module's tables so that Base.metadata knows the whole schema."""

from __future__ import annotations

from cityops.config import Settings, get_settings


def load_all_models(settings: Settings | None = None) -> None:
    """Register the tables the enabled modules declare on Base.metadata (Alembic and tests)."""
    from cityops.modules import load_tables, modules_of

    load_tables(modules_of(settings or get_settings()))
