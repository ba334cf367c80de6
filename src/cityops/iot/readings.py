"""The contracts inside the IoT hub: a reading, a device as scenarios see it, and a sink.

Ingestion (`iot/ingest/`) validates and stores readings, then hands each stored batch to every
registered `ReadingSink` (the scenario engine is one). Scenarios look devices up through a
`DeviceDirectory`, so the engine stays free of the registry's tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one key of one device at one time, validated against its profile."""

    device_id: str  # the device's registry id (unique across owners)
    owner_code: str  # the org unit that owns the device (district or town code)
    key: str  # the telemetry key, e.g. "water_level"
    value: float | bool | str
    ts: datetime  # when the device measured it (aware, UTC)
    received_at: datetime  # when the hub accepted it (aware, UTC)


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What a scenario needs to know of a device to raise a scene event about it."""

    device_id: str
    owner_code: str
    profile: str  # the device profile's code, e.g. "water_level_gauge"
    name: str
    lon: float  # WGS 84
    lat: float
    site: str = ""
    department: str = ""  # the responsible department's org code, if any


class DeviceDirectory(Protocol):
    """Looks devices up by id (the registry implements it; tests may use an in-memory one)."""

    async def device(self, device_id: str) -> DeviceInfo | None:
        """The device, or None when it is not registered (or was removed)."""
        ...

    async def devices_of(self, owner_code: str, profile: str | None = None) -> list[DeviceInfo]:
        """The devices an org unit owns, optionally of one profile."""
        ...


class ReadingSink(Protocol):
    """Hears every batch of readings after it is stored; must return quickly (queue inside)."""

    async def feed(self, readings: Sequence[Reading]) -> None:
        """Take a stored batch; never raises for a bad reading, never blocks the ingest."""
        ...
