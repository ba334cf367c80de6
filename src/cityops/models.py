"""Import every module's tables so that Base.metadata knows the whole schema."""

from __future__ import annotations


def load_all_models() -> None:
    """Register all tables on Base.metadata (for Alembic and tests)."""
    import cityops.auth.models
    import cityops.cases.models
    import cityops.cases.notices.subscribers
    import cityops.cases.sources.hotline.models
    import cityops.geo.drawing_models
    import cityops.geo.models
    import cityops.kit.outbox.models
    import cityops.media.models
    import cityops.org.models
    import cityops.townpage.models  # noqa: F401
