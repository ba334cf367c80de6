"""The registry in memory: what ingest checks every message against, and the DeviceDirectory.

Ingest must not query the database per message, so the devices, gateways and profiles are
held as one snapshot, reloaded after a change in this process (`invalidate`) and at least
every `ttl` seconds (a change made by another worker).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.iot.ingest.payloads import DeviceEntry, GatewayEntry
from cityops.iot.models import Device, DeviceProfile, Gateway
from cityops.iot.profiles import KeySpec
from cityops.iot.readings import DeviceInfo


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every device, gateway and profile at one moment."""

    devices: dict[str, DeviceEntry] = field(default_factory=dict)
    infos: dict[str, DeviceInfo] = field(default_factory=dict)
    gateways: dict[str, GatewayEntry] = field(default_factory=dict)
    profiles: dict[str, dict[str, KeySpec]] = field(default_factory=dict)


async def load_snapshot(session: AsyncSession) -> Snapshot:
    """Read the whole registry (a district has thousands of devices, not millions)."""
    snap = Snapshot()
    for profile in (await session.scalars(select(DeviceProfile))).all():
        snap.profiles[profile.code] = {k: KeySpec.of(v) for k, v in profile.telemetry.items()}
    for gw in (await session.scalars(select(Gateway))).all():
        snap.gateways[gw.id] = GatewayEntry(gw.id, gw.owner_code, gw.token_hash)
    for d in (await session.scalars(select(Device))).all():
        snap.devices[d.id] = DeviceEntry(
            d.id, d.owner_code, d.profile_code, d.token_hash, d.gateway_id
        )
        snap.infos[d.id] = DeviceInfo(
            d.id, d.owner_code, d.profile_code, d.name, d.lon, d.lat, d.site, d.department
        )
    return snap


class RegistryCache:
    """The current snapshot, reloaded when invalidated or older than `ttl` seconds."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], ttl: float = 10.0) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._snapshot: Snapshot | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Reload on the next read (after a registry change in this process)."""
        self._snapshot = None

    async def current(self) -> Snapshot:
        """The snapshot, fresh within `ttl`."""
        snap = self._snapshot
        if snap is not None and time.monotonic() - self._loaded_at < self._ttl:
            return snap
        async with self._lock:
            if self._snapshot is not None and time.monotonic() - self._loaded_at < self._ttl:
                return self._snapshot
            async with self._sessions() as session:
                fresh = await load_snapshot(session)
            self._snapshot, self._loaded_at = fresh, time.monotonic()
            return fresh


class CachedDirectory:
    """The DeviceDirectory scenarios use, over the registry snapshot."""

    def __init__(self, cache: RegistryCache) -> None:
        self._cache = cache

    async def device(self, device_id: str) -> DeviceInfo | None:
        """The device, or None when it is not registered."""
        return (await self._cache.current()).infos.get(device_id)

    async def devices_of(self, owner_code: str, profile: str | None = None) -> list[DeviceInfo]:
        """The devices an org unit owns, optionally of one profile."""
        infos = (await self._cache.current()).infos.values()
        return [
            i
            for i in infos
            if i.owner_code == owner_code and (profile is None or i.profile == profile)
        ]
