"""The IoT hub's tables: profiles, devices, gateways, telemetry, latest values, dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kit.db import Base, UTCDateTime, utcnow


class DeviceProfile(Base):
    """A kind of device: its telemetry keys with type, unit, range and default thresholds."""

    __tablename__ = "iot_profile"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    #: {key: {"type": "number"|"bool"|"text", "unit", "label", "min", "max", "thresholds"}}
    telemetry: Mapped[dict[str, Any]] = mapped_column(JSON)
    sources: Mapped[str] = mapped_column(Text, default="")  # standards behind units and ranges


class Gateway(Base):
    """A gateway: one message carries the readings of many devices behind it."""

    __tablename__ = "iot_gateway"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    owner_code: Mapped[str] = mapped_column(String(32), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Device(Base):
    """A registered device owned by the district or a town."""

    __tablename__ = "iot_device"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    owner_code: Mapped[str] = mapped_column(String(32), index=True)
    profile_code: Mapped[str] = mapped_column(ForeignKey("iot_profile.code"), index=True)
    lon: Mapped[float] = mapped_column(Float)  # WGS 84
    lat: Mapped[float] = mapped_column(Float)
    site: Mapped[str] = mapped_column(String(128), default="")
    department: Mapped[str] = mapped_column(String(64), default="")
    token_hash: Mapped[str] = mapped_column(String(64))
    gateway_id: Mapped[str | None] = mapped_column(
        ForeignKey("iot_gateway.id"), nullable=True, index=True
    )
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    online: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Telemetry(Base):
    """Append-only readings; the key (device, key, ts) stores a redelivery once."""

    __tablename__ = "telemetry"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    value_num: Mapped[float | None] = mapped_column(Float, nullable=True)
    value_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TelemetryLatest(Base):
    """The newest value of each key of each device (by measurement time)."""

    __tablename__ = "telemetry_latest"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    value_num: Mapped[float | None] = mapped_column(Float, nullable=True)
    value_text: Mapped[str | None] = mapped_column(Text, nullable=True)


class DeadLetter(Base):
    """A message the hub could not accept: its reason and raw bytes, for operators."""

    __tablename__ = "iot_dead_letter"
    __table_args__ = (Index("ix_iot_dead_letter_owner_id", "owner_code", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(16))  # mqtt | http
    topic: Mapped[str] = mapped_column(String(256), default="")
    owner_code: Mapped[str] = mapped_column(String(32), default="")  # from the topic or device
    device_id: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(512))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
