"""`cityops simulate iot`: realistic, labelled-synthetic readings for the demo devices.

Water levels follow rain (storms arrive at random, the level rises with the rain and drains
back) over a small tidal rhythm; bins fill through the day and are emptied; street lights burn
at night; now and then a sensor faults or drops out. Readings go over HTTP (the device's own
token) or MQTT (the documented topics), so they take the same path as real ones.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.iot.models import Device
from cityops.iot.registry.service import rotate_token

Send = Callable[["SimDevice", dict[str, Any]], Awaitable[None]]
BEIJING = timedelta(hours=8)


@dataclass
class SimDevice:
    """A synthetic device, its token and its state between ticks."""

    id: str
    owner_code: str
    profile: str
    token: str
    level: float = 2.5
    fill: float = 20.0
    silent_until: datetime | None = None
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class Weather:
    """Rain over the district (mm/h), shared by every gauge."""

    rain: float = 0.0

    def step(self, rng: random.Random, minutes: float) -> None:
        """A storm starts now and then; rain eases off otherwise."""
        if self.rain < 0.5 and rng.random() < 0.01 * minutes:
            self.rain = rng.uniform(10, 60)
        self.rain = max(0.0, self.rain * math.exp(-minutes / 45) - 0.05)


def hour_of(now: datetime) -> float:
    """The hour of day in Beijing time."""
    local = now + BEIJING
    return local.hour + local.minute / 60


def values_for(
    dev: SimDevice, now: datetime, weather: Weather, rng: random.Random, minutes: float
) -> dict[str, Any]:
    """The next values of one device."""
    hour = hour_of(now)
    battery = round(rng.uniform(60, 100), 1)
    if dev.profile == "water_level_gauge":
        tide = 0.25 * math.sin(2 * math.pi * now.timestamp() / (12.42 * 3600))
        dev.level += (weather.rain * 0.004 - (dev.level - 2.5) * 0.03) * minutes
        level = dev.level + tide + rng.gauss(0, 0.01)
        return {"water_level": round(min(max(level, -5), 15), 3), "battery": battery}
    if dev.profile == "manhole_tilt":
        tilt = 35.0 if rng.random() < 0.002 else abs(rng.gauss(1.0, 0.5))
        return {"tilt": round(tilt, 2), "displaced": tilt > 30, "battery": battery}
    if dev.profile == "smoke_detector":
        smoke = 0.6 if rng.random() < 0.001 else abs(rng.gauss(0.02, 0.01))
        return {"smoke": round(smoke, 3), "alarm": smoke >= 0.2, "battery": battery}
    if dev.profile == "gas_detector":
        gas = 30.0 if rng.random() < 0.001 else abs(rng.gauss(1.0, 0.6))
        return {"gas": round(min(gas, 100), 2), "battery": battery}
    if dev.profile == "bin_fill":
        busy = 1.5 if 7 <= hour <= 21 else 0.2
        dev.fill = min(100.0, dev.fill + busy * minutes / 10 * rng.uniform(0.5, 1.5))
        if dev.fill > 85 and rng.random() < 0.05 * minutes:
            dev.fill = rng.uniform(0, 5)  # emptied
        return {"fill": round(dev.fill, 1), "battery": battery}
    if dev.profile == "street_light":
        night = hour >= 18 or hour < 6
        fault = rng.random() < 0.003
        on = night and not fault
        return {
            "lamp_on": on,
            "power": round(rng.gauss(120, 5), 1) if on else 0.0,
            "voltage": round(rng.gauss(221, 3), 1),
            "fault": fault,
        }
    if dev.profile == "elevator":
        running = 6 <= hour <= 23 and rng.random() < 0.7
        return {
            "running": running,
            "trapped": rng.random() < 0.0005,
            "door_open": not running and rng.random() < 0.3,
            "floor": float(rng.randint(1, 18)),
        }
    return {}


async def take_devices(session: AsyncSession) -> list[SimDevice]:
    """The synthetic devices with fresh tokens (the simulator keeps them in memory only)."""
    devices = (
        await session.scalars(select(Device).where(Device.synthetic.is_(True)).order_by(Device.id))
    ).all()
    out = []
    for d in devices:
        token = await rotate_token(session, d)
        out.append(SimDevice(d.id, d.owner_code, d.profile_code, token))
    return out


@dataclass
class SimStats:
    """What a run sent."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0


async def run_ticks(
    devices: list[SimDevice],
    send: Send,
    *,
    clock: Callable[[], datetime],
    interval: float,
    ticks: int | None,
    seed: int | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> SimStats:
    """Every `interval` seconds, one message per device (minus dropouts and silent ones)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    weather = Weather()
    stats = SimStats()
    minutes = interval / 60
    done = 0
    while ticks is None or done < ticks:
        now = clock()
        weather.step(rng, minutes)
        for dev in devices:
            if dev.silent_until is not None and now < dev.silent_until:
                stats.skipped += 1
                continue
            if rng.random() < 0.0005:  # a dropout: the device goes quiet for a while
                dev.silent_until = now + timedelta(minutes=rng.uniform(5, 60))
            if rng.random() < 0.02:  # a lost message
                stats.skipped += 1
                continue
            body = {"ts": now.isoformat(), "values": values_for(dev, now, weather, rng, minutes)}
            try:
                await send(dev, body)
                stats.sent += 1
            except Exception:
                stats.failed += 1
        done += 1
        if ticks is None or done < ticks:
            await sleep(interval)
    return stats
