"""Fixtures of the scenario tests: an in-memory device directory and points inside towns."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.iot.readings import DeviceInfo, Reading
from cityops.kit.db import create_engine, create_sessionmaker, unit_of_work
from cityops.org.models import OrgUnit
from tests.conftest import Backend

T = TypeVar("T")
SIJING = "310117102"
SHESHAN = "310117103"
T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


class MemoryDirectory:
    """A real DeviceDirectory over a dict (the registry's tables are another helper's)."""

    def __init__(self, devices: list[DeviceInfo] | None = None) -> None:
        self.devices: dict[str, DeviceInfo] = {d.device_id: d for d in devices or []}

    def add(self, device: DeviceInfo) -> None:
        """Register a device."""
        self.devices[device.device_id] = device

    async def device(self, device_id: str) -> DeviceInfo | None:
        """The device, or None."""
        return self.devices.get(device_id)

    async def devices_of(self, owner_code: str, profile: str | None = None) -> list[DeviceInfo]:
        """The owner's devices, optionally of one profile."""
        return [
            d
            for d in self.devices.values()
            if d.owner_code == owner_code and (profile is None or d.profile == profile)
        ]


def reading(device: DeviceInfo, key: str, value: float | bool | str, seconds: float) -> Reading:
    """A reading of a device at T0 + seconds (received at once)."""
    ts = T0 + timedelta(seconds=seconds)
    return Reading(device.device_id, device.owner_code, key, value, ts, datetime.now(UTC))


def in_db(backend: Backend, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on a fresh engine of the backend."""

    async def run() -> T:
        engine = create_engine(backend.settings.database_url)
        try:
            async with unit_of_work(create_sessionmaker(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.fixture(scope="session")
def town_points(backend: Backend) -> dict[str, tuple[float, float]]:
    """A point inside each of the two test towns (from the stored polygons)."""

    async def work(session: AsyncSession) -> dict[str, tuple[float, float]]:
        found: dict[str, tuple[float, float]] = {}
        for code in (SIJING, SHESHAN):
            unit = await session.scalar(select(OrgUnit).where(OrgUnit.code == code))
            assert unit is not None and unit.geometry, code
            point = shape(json.loads(unit.geometry)).representative_point()
            found[code] = (point.x, point.y)
        return found

    return in_db(backend, work)
