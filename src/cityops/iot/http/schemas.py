"""Request and response bodies of the hub's API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from cityops.iot.registry.service import ID_PATTERN

Value = float | bool | str
#: Epoch milliseconds (up to year 2255) or an ISO 8601 text.
Stamp = Annotated[int, Field(ge=0, le=9_000_000_000_000)] | Annotated[str, Field(max_length=64)]
TS_DOC = "ISO 8601 with a time zone, or epoch milliseconds; absent: the time it arrives"


class DeviceReadingIn(BaseModel):
    """One device's message over HTTP: its token, a time and values by key."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field(pattern=ID_PATTERN, description="The device's registry id")
    token: str = Field(min_length=1, max_length=256, description="The device's token")
    ts: Stamp | None = Field(default=None, description=TS_DOC)
    values: dict[str, Value] = Field(min_length=1, max_length=64)


class BatchItem(BaseModel):
    """One device's readings inside a batch or gateway message."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field(pattern=ID_PATTERN)
    ts: Stamp | None = Field(default=None, description=TS_DOC)
    values: dict[str, Value] = Field(min_length=1, max_length=64)


class BatchIn(BaseModel):
    """Many devices' readings from a system client with iot.ingest."""

    model_config = ConfigDict(extra="forbid")

    devices: list[BatchItem] = Field(min_length=1, max_length=1000)


class GatewayIn(BatchIn):
    """A gateway's message over HTTP: its token and the items of the devices behind it."""

    token: str = Field(min_length=1, max_length=256)


class Accepted(BaseModel):
    """What an ingest call stored (duplicates of stored readings are skipped silently)."""

    accepted: int = Field(description="Readings committed (a redelivery is stored once)")
    dead_letters: int = Field(default=0, description="Items refused and kept as dead letters")
    errors: list[dict[str, Any]] = Field(default_factory=list)


class DeviceCreate(BaseModel):
    """Register one device."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00]*$")
    owner_code: str = Field(pattern=r"^\d{6,12}$")
    profile: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    lon: float = Field(ge=120.8, le=122.2, description="WGS 84")
    lat: float = Field(ge=30.6, le=31.6, description="WGS 84")
    site: str = Field(default="", max_length=128, pattern=r"^[^\x00]*$")
    department: str = Field(default="", max_length=64, pattern=r"^[^\x00]*$")
    gateway_id: str | None = Field(default=None, pattern=ID_PATTERN)


class GatewayCreate(BaseModel):
    """Register one gateway."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1, max_length=128, pattern=r"^[^\x00]*$")
    owner_code: str = Field(pattern=r"^\d{6,12}$")


class Credential(BaseModel):
    """A token, shown once: the hub keeps only its digest."""

    id: str
    token: str


class ProfileRead(BaseModel):
    """A device profile."""

    code: str
    name: str
    telemetry: dict[str, Any]
    sources: str


class DeviceRead(BaseModel):
    """A device as readers see it."""

    id: str
    name: str
    owner_code: str
    profile: str
    lon: float
    lat: float
    site: str
    department: str
    gateway_id: str | None
    synthetic: bool
    online: bool
    last_seen: datetime | None


class DevicePage(BaseModel):
    """A page of devices."""

    items: list[DeviceRead]
    total: int


class LatestRead(BaseModel):
    """The newest value of one key."""

    key: str
    value: Value | None
    unit: str
    label: str
    ts: datetime


class PointRead(BaseModel):
    """One stored reading of a key."""

    ts: datetime
    value: Value | None


class SeriesRead(BaseModel):
    """Readings of one key of one device in a time window, oldest first."""

    device_id: str
    key: str
    unit: str
    points: list[PointRead]


class DeadLetterRead(BaseModel):
    """A refused message."""

    id: int
    received_at: datetime
    channel: str
    topic: str
    owner_code: str
    device_id: str
    reason: str
    raw: str = Field(description="The raw bytes, decoded as UTF-8 with replacement")


class HubStats(BaseModel):
    """Live figures of the devices a caller sees."""

    devices: int
    online: int
    online_rate: float
    readings_last_minute: int
