"""The IoT hub's own settings (CITYOPS_MQTT_URL …), kept beside the module, read from the env."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IotSettings(BaseSettings):
    """What a deployment may set for the hub; unset MQTT URL keeps the embedded (HTTP) mode."""

    model_config = SettingsConfigDict(env_prefix="CITYOPS_", env_file=".env", extra="ignore")

    mqtt_url: str | None = Field(
        default=None,
        description="mqtt://host:port of the broker the hub consumes; unset: HTTP and "
        "in-process only (embedded mode).",
    )
    mqtt_topic_prefix: str = Field(
        default="cityops/v1",
        pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$",
        description="Topics are <prefix>/<owner_code>/<device_id>/telemetry and "
        "<prefix>/<owner_code>/<gateway_id>/gateway.",
    )
    mqtt_share_group: str = Field(
        default="cityops",
        pattern=r"^[A-Za-z0-9_-]{0,64}$",
        description="The MQTT 5 shared-subscription group ($share/<group>/…) consumers join; "
        "empty: a plain subscription (one consumer).",
    )
    mqtt_client_id: str = Field(
        default="cityops-ingest-1",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Stable per consumer: the broker keeps its session (unacked messages) "
        "across restarts under this id.",
    )
    mqtt_session_expiry_seconds: int = Field(
        default=86_400, ge=0, description="How long the broker keeps a disconnected session."
    )
    mqtt_max_pending: int = Field(
        default=20_000, ge=10, description="Messages received and not yet acked, at most."
    )
    batch_rows: int = Field(default=5000, ge=1, le=100_000, description="Rows per transaction.")
    batch_wait_seconds: float = Field(
        default=0.05, gt=0, le=5, description="The longest a reading waits for its batch."
    )
    http_wait_seconds: float = Field(
        default=10.0, gt=0, le=120, description="How long an HTTP push waits for its commit."
    )
    offline_after_seconds: float = Field(
        default=900.0, gt=0, description="A device unheard for this long is shown offline."
    )
    sweep_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often the offline sweep runs."
    )
