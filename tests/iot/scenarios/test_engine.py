"""The engine through the real app and database: readings in, scene events and cases out."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.cases.models import CaseRecord
from cityops.iot.readings import DeviceInfo, Reading
from cityops.iot.scenarios.engine import ScenarioEngine
from tests.conftest import Backend, Login
from tests.iot.scenarios.conftest import SIJING, MemoryDirectory, in_db, reading

BASE = "/api/v1/iot/scenarios"


@pytest.fixture(autouse=True)
def _both(backend: Backend) -> None:
    """Every test here runs on SQLite and on PostgreSQL."""


@pytest.fixture
def directory(client: TestClient) -> MemoryDirectory:
    """The app's device directory, in memory (the registry is another module's)."""
    found = getattr(client.app.state, "iot_directory", None)  # type: ignore[attr-defined]
    if not isinstance(found, MemoryDirectory):
        found = MemoryDirectory()
        client.app.state.iot_directory = found  # type: ignore[attr-defined]
    return found


def gauge(
    directory: MemoryDirectory, points: dict[str, tuple[float, float]], owner: str
) -> DeviceInfo:
    """A new water-level gauge of a town, inside it."""
    lon, lat = points[owner]
    device = DeviceInfo(
        f"wl-{uuid.uuid4().hex[:8]}",
        owner,
        "water_level_gauge",
        "测试水位计",
        lon,
        lat,
        site="测试河道",
    )
    directory.add(device)
    return device


def instantiate(client: TestClient, login: Login, who: str, **body: Any) -> dict[str, Any]:
    """Create an instance as an account; the created body."""
    reply = client.post(f"{BASE}/instances", json=body, headers=login.headers(who))
    assert reply.status_code == 201, reply.text
    created: dict[str, Any] = reply.json()
    return created


def feed(client: TestClient, readings: list[Reading]) -> None:
    """Hand readings to the app's engine as the ingest does, and wait until they are handled."""
    engine: ScenarioEngine = client.app.state.iot_scenarios  # type: ignore[attr-defined]
    assert engine in client.app.state.iot_sinks  # type: ignore[attr-defined]
    client.portal.call(engine.feed, readings)  # type: ignore[union-attr]
    client.portal.call(engine.idle)  # type: ignore[union-attr]


def cases_with(backend: Backend, keys: list[str]) -> int:
    """How many cases carry one of these source keys."""

    async def work(session: AsyncSession) -> int:
        stmt = select(func.count()).select_from(CaseRecord).where(CaseRecord.source_key.in_(keys))
        return int(await session.scalar(stmt) or 0)

    return in_db(backend, work)


def events(
    client: TestClient, login: Login, who: str, instance_id: int, *status: str
) -> list[dict[str, Any]]:
    """The scene events of an instance an account sees."""
    params: dict[str, Any] = {
        "instance_id": instance_id,
        "status": list(status or ("active", "acknowledged", "cleared")),
    }
    reply = client.get(f"{BASE}/events", params=params, headers=login.headers(who))
    assert reply.status_code == 200, reply.text
    found: list[dict[str, Any]] = reply.json()
    return found


def test_over_threshold_for_the_duration_gives_one_scene_event_and_one_case(
    client: TestClient,
    login: Login,
    backend: Backend,
    directory: MemoryDirectory,
    town_points: dict[str, tuple[float, float]],
) -> None:
    device = gauge(directory, town_points, SIJING)
    overrides = {"lines": [3.0, 3.5, 4.0], "duration_s": 60, "hysteresis": 0.1}
    made = instantiate(
        client,
        login,
        "t_sijing",
        template_code="flood_water_level",
        owner_code=SIJING,
        name="泗泾测试水位",
        device_ids=[device.device_id],
        overrides=overrides,
    )
    stream = [reading(device, "water_level", 3.2, s) for s in range(0, 301, 10)]
    feed(client, stream[:10])  # 0..90 s: fires at 60 s
    feed(client, stream[5:])  # duplicates and the rest: still one
    feed(client, [reading(device, "water_level", 3.3, 30)])  # late
    found = events(client, login, "t_sijing", made["id"])
    assert len(found) == 1
    assert found[0]["status"] == "active" and found[0]["severity"] == "minor"
    assert found[0]["case_key"] == f"iot-scene-{found[0]['id']}"
    assert cases_with(backend, [found[0]["case_key"]]) == 1
    # Hovering at the line holds it to one event; coming back below line - hysteresis clears it.
    feed(
        client,
        [
            reading(device, "water_level", 3.0 + (0.05 if i % 2 else -0.05), 310 + i)
            for i in range(20)
        ],
    )
    assert len(events(client, login, "t_sijing", made["id"])) == 1
    feed(client, [reading(device, "water_level", 2.8, 400)])
    (cleared,) = events(client, login, "t_sijing", made["id"])
    assert cleared["status"] == "cleared" and cleared["cleared_at"].startswith(
        "2026-07-01T08:06:40"
    )
    assert cleared["cleared_by"] is None
    assert cases_with(backend, [cleared["case_key"]]) == 1


def test_escalation_raises_the_severity_of_the_open_event(
    client: TestClient,
    login: Login,
    directory: MemoryDirectory,
    town_points: dict[str, tuple[float, float]],
) -> None:
    device = gauge(directory, town_points, SIJING)
    made = instantiate(
        client,
        login,
        "t_sijing",
        template_code="flood_water_level",
        owner_code=SIJING,
        name="分级",
        device_ids=[device.device_id],
        overrides={"duration_s": 0},
    )
    feed(client, [reading(device, "water_level", v, i) for i, v in enumerate([3.1, 3.6, 4.1])])
    (event,) = events(client, login, "t_sijing", made["id"])
    assert (event["level"], event["severity"]) == (2, "critical")


def test_no_data_fires_on_a_tick_for_a_silent_device(
    client: TestClient,
    login: Login,
    directory: MemoryDirectory,
    town_points: dict[str, tuple[float, float]],
) -> None:
    device = gauge(directory, town_points, SIJING)
    made = instantiate(
        client,
        login,
        "t_sijing",
        template_code="no_data",
        owner_code=SIJING,
        name="离线",
        device_ids=[device.device_id],
        overrides={"timeout_s": 60},
    )
    engine: ScenarioEngine = client.app.state.iot_scenarios  # type: ignore[attr-defined]
    runner = engine.runners[made["id"]]
    started = runner.states[device.device_id].last_ts
    engine.tick(started)
    client.portal.call(engine.idle)  # type: ignore[union-attr]
    assert events(client, login, "t_sijing", made["id"]) == []
    engine.tick(started + timedelta(seconds=61))
    client.portal.call(engine.idle)  # type: ignore[union-attr]
    (event,) = events(client, login, "t_sijing", made["id"], "active")
    assert event["case_key"] is None  # the no-data scenario does not open cases
