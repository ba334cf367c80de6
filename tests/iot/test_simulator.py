"""The simulator: labelled-synthetic devices whose every reading passes the hub's own checks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from cityops.iot.demo import SYNTHETIC_MARK, demo_devices, seed_demo_devices
from cityops.iot.ingest.payloads import DeviceEntry, device_readings
from cityops.iot.profiles import BASE_PROFILES, KeySpec
from cityops.iot.simulator import SimDevice, run_ticks, take_devices
from cityops.kit.db import in_unit_of_work
from tests.conftest import Backend, Login

KEYS = {p.code: {k: KeySpec.of(v) for k, v in p.telemetry_json().items()} for p in BASE_PROFILES}


def test_demo_devices_are_labelled_synthetic_one_per_profile_per_unit() -> None:
    devices = demo_devices()
    assert len(devices) == 18 * len(BASE_PROFILES)
    assert all(
        d.synthetic and d.name.startswith(SYNTHETIC_MARK) and d.id.startswith("SIM-")
        for d in devices
    )


def test_a_simulated_day_validates_and_water_follows_the_rain() -> None:
    devices = [SimDevice(f"d-{p.code}", "310117102", p.code, "tok") for p in BASE_PROFILES]
    sent: list[tuple[SimDevice, dict[str, Any]]] = []
    start = datetime(2026, 7, 1, tzinfo=UTC)
    ticks = iter(range(10_000))

    def clock() -> datetime:
        return start + timedelta(minutes=5 * next(ticks))

    async def send(dev: SimDevice, body: dict[str, Any]) -> None:
        sent.append((dev, body))

    async def no_wait(_: float) -> None:
        return None

    stats = asyncio.run(
        run_ticks(devices, send, clock=clock, interval=300, ticks=288, seed=7, sleep=no_wait)
    )
    assert stats.sent == len(sent) and stats.sent > 0.9 * 288 * len(devices)
    for dev, body in sent:
        entry = DeviceEntry(dev.id, dev.owner_code, dev.profile, "")
        now = datetime.fromisoformat(body["ts"])
        assert device_readings(entry, KEYS[dev.profile], body, now)  # raises if out of range
    levels = [b["values"]["water_level"] for d, b in sent if d.profile == "water_level_gauge"]
    assert max(levels) - min(levels) > 0.2  # rain and tide move the level


def test_the_simulator_feeds_the_hub_over_http(
    client: TestClient, backend: Backend, login: Login
) -> None:
    async def prepare(session: Any) -> list[SimDevice]:
        await seed_demo_devices(session)
        return await take_devices(session)

    devices = asyncio.run(in_unit_of_work(backend.settings.database_url, prepare))
    client.app.state.iot.cache.invalidate()  # the tokens were just replaced
    now = datetime.now(UTC)

    async def send(dev: SimDevice, body: dict[str, Any]) -> None:
        reply = client.post(
            "/api/v1/iot/telemetry", json={"device": dev.id, "token": dev.token, **body}
        )
        assert reply.status_code == 202, reply.text

    async def no_wait(_: float) -> None:
        return None

    stats = asyncio.run(
        run_ticks(
            devices[:14], send, clock=lambda: now, interval=30, ticks=1, seed=1, sleep=no_wait
        )
    )
    assert stats.failed == 0 and stats.sent >= 10
    listed = client.get(
        "/api/v1/iot/devices",
        params={"owner": devices[0].owner_code},
        headers=login.headers("t_duty"),
    )
    assert any(d["synthetic"] and d["online"] for d in listed.json()["items"])
