"""Songjiang demo devices: labelled synthetic (【模拟】, ids SIM-…, synthetic = true).

Each of the 18 units gets one device of every base profile, placed near the unit's
approximate point (data/geo/towns-310117-approx-points.csv); nothing here is a real device.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.iot.models import Device
from cityops.iot.profiles import BASE_PROFILES
from cityops.iot.registry.service import NewDevice, create_device

SYNTHETIC_MARK = "【模拟】"
ID_PREFIX = "SIM-"
#: The responsible department (data/departments.csv keys) per profile.
DEPARTMENTS = {
    "water_level_gauge": "sw",
    "manhole_tilt": "cgzf",
    "smoke_detector": "yjgl",
    "gas_detector": "yjgl",
    "bin_fill": "lhsr",
    "street_light": "cgzf",
    "elevator": "fg",
}


@dataclass(frozen=True, slots=True)
class Unit:
    """A town or street with its approximate point."""

    code: str
    name: str
    lon: float
    lat: float


def units() -> list[Unit]:
    """Songjiang's 18 units and their approximate points."""
    path = resources.files("cityops.data").joinpath("geo/towns-310117-approx-points.csv")
    with path.open(encoding="utf-8") as handle:
        return [
            Unit(r["code"], r["name"], float(r["lon"]), float(r["lat"]))
            for r in csv.DictReader(handle)
        ]


def demo_devices(seed: int = 117) -> list[NewDevice]:
    """One synthetic device per profile per unit, jittered around the unit's point."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    out = []
    for unit in units():
        for profile in BASE_PROFILES:
            out.append(
                NewDevice(
                    id=f"{ID_PREFIX}{unit.code}-{profile.code}-1",
                    name=f"{SYNTHETIC_MARK}{unit.name}{profile.name}1号",
                    owner_code=unit.code,
                    profile=profile.code,
                    lon=round(unit.lon + rng.uniform(-0.008, 0.008), 6),
                    lat=round(unit.lat + rng.uniform(-0.008, 0.008), 6),
                    site=f"{SYNTHETIC_MARK}{unit.name}示例点位",
                    department=DEPARTMENTS.get(profile.code, ""),
                    synthetic=True,
                )
            )
    return out


async def seed_demo_devices(session: AsyncSession) -> int:
    """Register the demo devices not yet registered; how many were added."""
    have = set((await session.scalars(select(Device.id).where(Device.synthetic.is_(True)))).all())
    added = 0
    for new in demo_devices():
        if new.id not in have:
            await create_device(session, new)
            added += 1
    return added
