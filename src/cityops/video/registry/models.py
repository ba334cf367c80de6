"""Tables of the video registry: devices (and lower platforms) and their catalog entries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kit.db import Base, UTCDateTime


class VideoDevice(Base):
    """A device or lower platform that registered over GB/T 28181 (设备/下级平台)."""

    __tablename__ = "video_device"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(20), unique=True)  # 20-digit code
    kind: Mapped[str] = mapped_column(String(16))  # device | channel | platform (ids.Kind)
    name: Mapped[str] = mapped_column(String(128), default="")
    manufacturer: Mapped[str] = mapped_column(String(64), default="")
    model: Mapped[str] = mapped_column(String(64), default="")
    firmware: Mapped[str] = mapped_column(String(64), default="")
    owner_code: Mapped[str] = mapped_column(String(24), index=True)  # the data-scope code
    civil_code: Mapped[str] = mapped_column(String(8))
    transport: Mapped[str] = mapped_column(String(3))  # udp | tcp
    host: Mapped[str] = mapped_column(String(64))
    port: Mapped[int] = mapped_column(Integer)
    expires: Mapped[int] = mapped_column(Integer)
    user_agent: Mapped[str] = mapped_column(String(128), default="")
    online: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
    last_keepalive: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))
    offline_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))
    channel_count: Mapped[int] = mapped_column(Integer, default=0)
    catalog_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    catalog_at: Mapped[datetime | None] = mapped_column(UTCDateTime(timezone=True))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)  # a simulator's device


class VideoChannel(Base):
    """One catalog entry of a device: a camera, an alarm input, a group or a civil region."""

    __tablename__ = "video_channel"
    __table_args__ = (UniqueConstraint("device_pk", "channel_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_pk: Mapped[int] = mapped_column(
        ForeignKey("video_device.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # channel | business_group | virtual_org | region …
    name: Mapped[str] = mapped_column(String(128), default="")
    manufacturer: Mapped[str] = mapped_column(String(64), default="")
    model: Mapped[str] = mapped_column(String(64), default="")
    owner: Mapped[str] = mapped_column(String(64), default="")  # the catalog's <Owner>
    civil_code: Mapped[str] = mapped_column(String(8), default="", index=True)
    parent_id: Mapped[str] = mapped_column(String(64), default="")  # <ParentID>, may list a path
    business_group_id: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(256), default="")
    parental: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(8), default="")  # ON | OFF
    longitude: Mapped[float | None] = mapped_column(Float)
    latitude: Mapped[float | None] = mapped_column(Float)
    owner_code: Mapped[str] = mapped_column(String(24), index=True)  # the device's, for scope
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(timezone=True))
