"""API shapes of the video registry."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[0-9]{20}$"
CODE_PATTERN = r"^[0-9]{6}[0-9A-Z]{0,18}$"


class DeviceRead(BaseModel):
    """A registered device or lower platform."""

    model_config = ConfigDict(from_attributes=True)

    device_id: str
    kind: str
    name: str
    manufacturer: str
    model: str
    firmware: str
    owner_code: str
    civil_code: str
    transport: str
    host: str
    port: int
    online: bool
    registered_at: datetime
    last_keepalive: datetime | None
    offline_at: datetime | None
    channel_count: int
    catalog_complete: bool
    catalog_at: datetime | None
    synthetic: bool = Field(description="Registered by `cityops simulate video` (模拟)")


class ChannelRead(BaseModel):
    """One catalog entry of a device."""

    model_config = ConfigDict(from_attributes=True)

    channel_id: str
    kind: str
    name: str
    manufacturer: str
    model: str
    owner: str
    civil_code: str
    parent_id: str
    business_group_id: str
    address: str
    parental: bool
    status: str
    longitude: float | None
    latitude: float | None
    owner_code: str


class RegionRead(BaseModel):
    """One node of the catalog tree by civil code (行政区划)."""

    civil_code: str
    name: str
    channels: list[ChannelRead]


class DeviceUpdate(BaseModel):
    """What a manager may change: which org unit owns the device (data scope)."""

    model_config = ConfigDict(extra="forbid")

    owner_code: str = Field(pattern=CODE_PATTERN, description="The org unit that owns it")


class CatalogQueryRead(BaseModel):
    """The outcome of asking a device for its catalog now."""

    device_id: str
    sum_num: int
    received: int
    complete: bool
