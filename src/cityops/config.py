"""Settings for one cityops process, read from the environment (prefix CITYOPS_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
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
    map_frame_ancestors: list[str] = Field(
        default_factory=list,
        description="Origins (https://host[:port]) of town portals that may frame /map/embed "
        "and message it; the platform's own origin always may.",
    )
    local_crs: dict[str, str] = Field(
        default_factory=dict,
        description="Local grids by name → PROJ string or WKT, e.g. the official 上海2000 "
        'parameters as {"sh2000": "…"}; none ship because they are not public.',
    )

    # --- event flow (cases) -------------------------------------------------------------------
    data_key: SecretStr | None = Field(
        default=None,
        description="Base64 32-byte master key for personal data at rest (SM4-GCM, else "
        "AES-256-GCM); unset: a key file is generated at data_key_file on first use.",
    )
    data_key_file: Path = Field(
        default=Path("var/data.key"), description="Where the generated data key is kept (0600)."
    )
    scheduler: bool = Field(
        default=True, description="Run the case SLA scheduler inside this process."
    )
    scheduler_interval_seconds: float = Field(
        default=5.0, gt=0, description="How often the scheduler looks for due case timers."
    )
    case_max_returns: int = Field(
        default=2, ge=0, description="Returns (退单) a case may take before it must escalate."
    )
    case_warn_ratio: float = Field(
        default=0.8, gt=0, lt=1, description="Share of a time limit after which 临期 is raised."
    )
    case_duplicate_radius_m: float = Field(
        default=100.0, gt=0, description="Distance within which a new case suggests a merge."
    )
    case_duplicate_hours: int = Field(
        default=72, ge=1, description="How far back merge candidates are looked for."
    )

    # --- portal overview (总览) and big screen ----------------------------------------------
    overview_cache_seconds: float = Field(
        default=15.0,
        ge=0,
        description="How long a computed overview part is reused; case events drop it at once "
        "in this process. 0 turns the cache off.",
    )
    overview_refresh_seconds: float = Field(
        default=60.0,
        ge=5,
        description="How often an overview stream tells its screen to refresh the live parts "
        "even without a case event (events of other processes, passing time).",
    )
    overview_max_streams: int = Field(
        default=500, ge=1, description="Open overview streams (SSE) this process accepts."
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
