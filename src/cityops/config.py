"""Settings for one cityops process, read from the environment (prefix CITYOPS_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything a deployment may set; defaults run the embedded, single-machine mode."""

    model_config = SettingsConfigDict(env_prefix="CITYOPS_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/cityops.db",
        description="SQLAlchemy async URL; postgresql+asyncpg://… for PostgreSQL.",
    )
    district_code: str = Field(default="310117", description="The district this node serves.")
    division_year: int = Field(default=2023, description="Year of the division codes to seed.")
    session_ttl_minutes: int = Field(default=480, ge=5, description="Absolute session lifetime.")
    session_idle_minutes: int = Field(default=30, ge=1, description="Idle timeout (等保 2.0).")
    principal_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a worker trusts a verified token before re-reading it; "
        "logout in the same worker takes effect at once.",
    )
    login_max_failures: int = Field(default=5, ge=1, description="Failures before lockout.")
    login_lockout_minutes: int = Field(default=15, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body.")
    cookie_secure: bool = Field(default=False, description="Set Secure on the session cookie.")
    synthetic_grids_per_community: tuple[int, int] = (3, 7)
    local_crs: dict[str, str] = Field(
        default_factory=dict,
        description="Local grids by name → PROJ string or WKT, e.g. the official 上海2000 "
        'parameters as {"sh2000": "…"}; none ship because they are not public.',
    )

    @property
    def is_sqlite(self) -> bool:
        """Whether the configured database is SQLite."""
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The SQLite file path, or None for an in-memory or non-SQLite database."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split("///", 1)[-1]
        return None if path in ("", ":memory:") else Path(path)


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings."""
    return Settings()
