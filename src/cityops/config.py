"""Settings for one cityops process, read from the environment (prefix CITYOPS_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Values an official-account template field may take (see docs/notify.md).
MP_FIELD_SOURCES = frozenset({"title", "case_no", "status", "time", "summary", "result"})
#: The four closed loops' names (cases.catalog.shipped.LoopLevel), for settings that name them.
LOOP_NAMES = frozenset({"community", "multigrid", "town", "district"})


def _http_url(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an http(s) URL with a host, not {value!r}")
    return value


class HotlineSystem(BaseModel):
    """A 12345 system account's signing secret and default callback URL."""

    model_config = ConfigDict(extra="forbid")

    secret: SecretStr = Field(description="HMAC-SHA256 key of its callbacks (≥ 16 characters).")
    callback_url: str | None = Field(default=None, description="Where callbacks go by default.")

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("a callback signing secret needs at least 16 characters")
        return value

    @field_validator("callback_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, "callback_url")


class WeComRecipient(BaseModel):
    """Who in WeCom hears about an org unit's or a department's cases."""

    model_config = ConfigDict(extra="forbid")

    users: list[str] = Field(default_factory=list, description="WeCom userids")
    parties: list[str] = Field(default_factory=list, description="WeCom department ids")


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
    login_lockout_minutes: int = Field(
        default=15, ge=1, description="How long one (username, address) pair stays locked."
    )
    login_global_failures: int = Field(
        default=20,
        ge=1,
        description="Failures of one username from all addresses (within the global window) "
        "after which an address that never signed in to it gets one try per lockout.",
    )
    login_global_window_minutes: int = Field(
        default=60, ge=1, description="The window the global failure count looks back over."
    )
    login_familiar_days: int = Field(
        default=90, ge=1, description="An address with a session this recent is familiar."
    )
    totp_required_roles: list[str] = Field(
        default_factory=lambda: [
            "sys_admin",
            "security_admin",
            "audit_admin",
            "district_officer",
        ],
        description="Roles that must sign in with a TOTP code (enrolled at first login).",
    )
    totp_issuer: str = Field(
        default="cityops", description="Issuer shown in authenticator apps (otpauth:// URI)."
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body.")
    disabled_modules: set[str] = Field(
        default_factory=set,
        description='Modules to leave out, by manifest name (e.g. ["simulate"]); a module '
        "that another enabled one requires cannot be switched off.",
    )
    cookie_secure: bool = Field(
        default=False,
        description="Set Secure on every cookie even over plain HTTP; over HTTPS (directly or "
        "through a trusted proxy's X-Forwarded-Proto) cookies are Secure anyway.",
    )
    trusted_proxies: str = Field(
        default="127.0.0.1",
        max_length=2000,
        description="Comma-separated addresses (or *) of reverse proxies whose X-Forwarded-For "
        "and X-Forwarded-Proto `cityops serve` believes; nobody else can claim HTTPS.",
    )
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
    audit_key: SecretStr | None = Field(
        default=None,
        description="Base64 32-byte key of the audit chain's SM3-HMACs, kept outside the "
        "database; unset: a key file is generated at audit_key_file on first use.",
    )
    audit_key_file: Path = Field(
        default=Path("var/audit.key"), description="Where the generated audit key is kept (0600)."
    )
    audit_retention_days: int = Field(
        default=180,
        ge=180,
        description="Audit entries younger than this are never purged (等保 2.0: ≥ 6 months).",
    )
    personal_retention_days: int = Field(
        default=180,
        ge=1,
        description="Days after a case closes before its reporter's contact is anonymised.",
    )
    case_retention_days: int = Field(
        default=3650,
        ge=365,
        description="Days after a case closes before its content (text, address, point, photos) "
        "is cleared by the life-cycle job; the statistical record stays.",
    )
    notice_recipient_retention_days: int = Field(
        default=7,
        ge=0,
        description="Days after a WeCom/official-account notice is delivered or discarded before "
        "its recipients (openids, user ids) are masked in the outbox.",
    )
    telemetry_retention_days: int = Field(
        default=90, ge=1, description="How long device telemetry is kept (documented class)."
    )
    lifecycle_interval_seconds: float = Field(
        default=3600.0, gt=0, description="How often the life-cycle job looks for due work."
    )
    backup_passphrase: SecretStr | None = Field(
        default=None,
        description="Passphrase that encrypts backup archives (scrypt → AES-256-GCM); "
        "`cityops backup` refuses to run without it.",
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
    case_self_check_loops: set[str] = Field(
        default_factory=set,
        description=(
            "Loop levels (community, multigrid, town, district) at which whoever marked a case "
            "办结 may also check it; by default none: 核查 is always someone else's."
        ),
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
    open311_public_reads: bool = Field(
        default=True,
        description="Let anyone read the public fields of Open311 requests (GET requests), "
        "as GeoReport v2 expects; false: only with a system client's API key.",
    )
    town_feed_settle_seconds: float = Field(
        default=10.0,
        ge=0,
        description="Age a timeline entry must reach before the town changes feed hands it out, "
        "so an entry committed late never falls behind a cursor (twice the longest write).",
    )

    # --- photos (media) and the phone report pages ----------------------------------------------
    media_dir: Path = Field(
        default=Path("var/media"), description="Where photos are stored, by content (sha256)."
    )
    media_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1024, description="Largest photo file accepted."
    )
    media_max_pixels: int = Field(
        default=50_000_000,
        ge=10_000,
        description="Largest decoded image (width × height) accepted; bigger is a decompression bomb.",
    )
    media_max_side: int = Field(
        default=4096,
        ge=64,
        description="Longest side a stored photo keeps; larger are scaled down.",
    )
    media_thumb_side: int = Field(default=320, ge=32, description="Longest side of a thumbnail.")
    citizen_report: bool = Field(
        default=True, description="Serve the public citizen report page /m/citizen."
    )
    citizen_limit_per_ip: int = Field(
        default=10, ge=1, description="Citizen reports one IP address may send per hour."
    )
    citizen_limit_per_phone: int = Field(
        default=5, ge=1, description="Citizen reports one phone number may send per day."
    )

    # --- outbox: durable delivery of callbacks and notices -----------------------------------
    outbox_dispatcher: bool = Field(
        default=True, description="Run the outbox dispatcher inside this process."
    )
    outbox_interval_seconds: float = Field(
        default=2.0, gt=0, description="How often the dispatcher looks for due messages."
    )
    outbox_max_attempts: int = Field(
        default=12, ge=1, le=100, description="Attempts before a message is marked failed."
    )
    outbox_backoff_seconds: float = Field(
        default=10.0, gt=0, description="Wait after the first failure; doubled after each."
    )
    outbox_backoff_max_seconds: float = Field(
        default=3600.0, gt=0, description="The longest wait between two attempts."
    )
    outbox_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="How long one delivery attempt may take."
    )

    # --- the event bus: in-process by default, NATS JetStream across workers -----------------
    bus_url: str | None = Field(
        default=None,
        description="nats://host:port of a NATS server with JetStream; unset keeps the bus "
        "in this process (one worker).",
    )
    bus_prefix: str = Field(
        default="cityops",
        pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,31}$",
        description="Subject prefix and stream-name stem (one per deployment sharing a server).",
    )
    bus_ack_wait_seconds: float = Field(
        default=30.0, gt=0, le=3600, description="How long a consumer may hold a message."
    )
    bus_max_ack_pending: int = Field(
        default=256, ge=1, le=100_000, description="Messages a consumer holds unacked at most."
    )
    bus_max_deliver: int = Field(
        default=5, ge=1, le=100, description="Deliveries before a message is dead-lettered."
    )
    bus_retry_seconds: float = Field(
        default=2.0, ge=0, description="Redelivery delay after a failure; doubled each time."
    )
    bus_duplicate_window_seconds: float = Field(
        default=600.0, ge=1, description="JetStream de-duplicates a message id within this."
    )
    bus_max_age_days: float = Field(
        default=7.0, gt=0, description="How long the event stream keeps an event."
    )
    bus_relay_grace_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long after commit the relay takes over an event "
        "the writing process did not publish (it died).",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db for rate limits shared by every worker; unset "
        "counts in each process.",
    )

    # --- 12345 hotline ----------------------------------------------------------------------
    hotline_systems: dict[str, HotlineSystem] = Field(
        default_factory=dict,
        description="By system-client username: the callback signing secret and default URL.",
    )
    hotline_callback_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts (host or host:port, *.suffix for subdomains) an order's own "
        "callback_url may name; a system's configured default URL is always allowed.",
    )

    # --- WeCom (政务微信) ----------------------------------------------------------------------
    wecom_enabled: bool = Field(default=False, description="Send WeCom application messages.")
    wecom_base_url: str = Field(
        default="https://qyapi.weixin.qq.com", description="The WeCom API (政务微信: private)."
    )
    wecom_corp_id: str = ""
    wecom_secret: SecretStr | None = None
    wecom_agent_id: int = Field(default=0, ge=0)
    wecom_recipients: dict[str, WeComRecipient] = Field(
        default_factory=dict,
        description='Keys "<org code>/<department key>" (a department) or "<org code>" (a '
        "unit and everything under it, the longest prefix wins).",
    )
    wecom_case_url: str = Field(
        default="", description="Link of a case in messages, with {id}; empty: text messages."
    )

    # --- WeChat official account (公众号) -------------------------------------------------------
    mp_enabled: bool = Field(default=False, description="Send template messages to citizens.")
    mp_base_url: str = "https://api.weixin.qq.com"
    mp_app_id: str = ""
    mp_secret: SecretStr | None = None
    mp_template_id: str = ""
    mp_template_fields: dict[str, str] = Field(
        default_factory=lambda: {
            "first": "title",
            "keyword1": "case_no",
            "keyword2": "status",
            "keyword3": "time",
            "remark": "result",
        },
        description="Template key → one of title, case_no, status, time, summary, result.",
    )
    mp_case_url: str = Field(default="", description="Citizen's link of a case, with {id}.")

    @model_validator(mode="after")
    def _channels_complete(self) -> Self:
        for name in ("wecom_base_url", "mp_base_url"):
            _http_url(getattr(self, name), name)
        if self.wecom_enabled and not (
            self.wecom_corp_id and self.wecom_secret and self.wecom_agent_id
        ):
            raise ValueError("wecom_enabled needs wecom_corp_id, wecom_secret and wecom_agent_id")
        if self.mp_enabled and not (self.mp_app_id and self.mp_secret and self.mp_template_id):
            raise ValueError("mp_enabled needs mp_app_id, mp_secret and mp_template_id")
        unknown = set(self.mp_template_fields.values()) - MP_FIELD_SOURCES
        if unknown:
            raise ValueError(f"mp_template_fields: unknown values {sorted(unknown)}")
        if self.case_self_check_loops - LOOP_NAMES:
            wrong = sorted(self.case_self_check_loops - LOOP_NAMES)
            raise ValueError(f"case_self_check_loops: {wrong} are not loops ({sorted(LOOP_NAMES)})")
        return self

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

    # --- video hub: GB/T 28181 SIP server (docs/video.md) -------------------------------------
    sip_enabled: bool = Field(
        default=False,
        description="Run the GB/T 28181 SIP server (upper-platform role) in this process; "
        "`cityops demo` turns it on.",
    )
    sip_host: str = Field(
        default="0.0.0.0",  # noqa: S104 (cameras on the network register)
        max_length=64,
        description="SIP bind address.",
    )
    sip_port: int = Field(default=5060, ge=0, le=65535, description="SIP port, UDP and TCP.")
    sip_advertised_host: str = Field(
        default="127.0.0.1",
        max_length=64,
        description="The address devices reach us at, written into our Via when we send.",
    )
    sip_domain: str = Field(
        default="3101170000",
        pattern=r"^[0-9]{10}$",
        description="SIP domain (realm): the first 10 digits of the platform ID by convention.",
    )
    sip_platform_id: str = Field(
        default="31011700002000000001",
        pattern=r"^[0-9]{20}$",
        description="This platform's 20-digit GB/T 28181 code (type 200).",
    )
    sip_password: SecretStr = Field(
        default=SecretStr("12345678"),
        description="The registration password devices and lower platforms use (digest MD5); "
        "change it in production.",
    )
    sip_keepalive_seconds: float = Field(
        default=60.0, gt=0, description="Expected keepalive interval; offline after 3 missed."
    )
    sip_register_limit: int = Field(
        default=20, ge=1, description="REGISTERs one address may send per window (else 503)."
    )
    sip_register_window: float = Field(
        default=1.0, gt=0, description="The window of sip_register_limit, in seconds."
    )
    sip_owners: dict[str, str] = Field(
        default_factory=dict,
        description="Device code prefix → org code that owns the device (data scope), "
        'e.g. {"31011710": "310117101"}; the district owns the rest.',
    )
    video_alarm_category: str = Field(
        default="event:0409",
        max_length=64,
        description="The case category a GB/T 28181 alarm opens (set per district).",
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
