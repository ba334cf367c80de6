"""End to end: `mosquitto_pub` → the hub's MQTT consumer → stored → a scenario → one case.

The device is registered and the scenario instantiated through the API; the readings come over
a private Mosquitto as a device would send them; the hub runs inside the app
(`CITYOPS_MQTT_URL` set), as `make demo` runs it with a broker. Waits are on counts (readings
stored, readings evaluated), bounded by a hang guard, never on a fixed time.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.app import create_app
from cityops.cases.models import CaseRecord
from cityops.iot.models import Telemetry
from cityops.iot.settings import IotSettings
from tests.conftest import Backend, Login
from tests.iot.broker import Broker, require_mosquitto
from tests.iot.scenarios.conftest import SIJING, in_db

HANG_GUARD_S = 120.0
SCENARIOS = "/api/v1/iot/scenarios"


@pytest.fixture(autouse=True)
def _both(backend: Backend) -> None:
    """Runs on SQLite and on PostgreSQL."""


def wait_for(what: str, done: Callable[[], bool]) -> None:
    """Wait until `done()` holds; fail after the hang guard (a stuck pipeline, not a slow one)."""
    deadline = time.monotonic() + HANG_GUARD_S
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"hung waiting for {what}")
        time.sleep(0.05)


def count(backend: Backend, stmt: Any) -> int:
    """One count from the database."""

    async def work(session: AsyncSession) -> int:
        return int(await session.scalar(stmt) or 0)

    return in_db(backend, work)


def publish(broker: Broker, topic: str, payload: dict[str, Any]) -> None:
    """One QoS 1 message, sent by the Mosquitto command-line client as a device would."""
    subprocess.run(
        ["mosquitto_pub", "-p", str(broker.port), "-q", "1", "-V", "mqttv5", "-t", topic, "-s"],
        input=orjson.dumps(payload),
        check=True,
        timeout=30,
    )


def test_a_water_level_over_its_line_for_the_duration_opens_one_case(
    backend: Backend,
    login: Login,
    town_points: dict[str, tuple[float, float]],
    tmp_path: Path,
) -> None:
    require_mosquitto()
    broker = Broker(tmp_path)
    broker.start()
    prefix = f"e2e{uuid.uuid4().hex[:8]}/v1"
    app = create_app(backend.settings)
    app.state.iot_settings = IotSettings(
        mqtt_url=broker.url,
        mqtt_topic_prefix=prefix,
        mqtt_client_id=f"e2e-{uuid.uuid4().hex[:8]}",
        mqtt_share_group="",
        batch_wait_seconds=0.05,
    )
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            run_the_scenario(client, backend, login, town_points, broker, prefix)
    finally:
        broker.stop()


def run_the_scenario(
    client: TestClient,
    backend: Backend,
    login: Login,
    town_points: dict[str, tuple[float, float]],
    broker: Broker,
    prefix: str,
) -> None:
    """Register, instantiate, publish; then exactly one scene event and one case."""
    headers = login.headers("t_sijing")
    device_id = f"e2e-wl-{uuid.uuid4().hex[:8]}"
    lon, lat = town_points[SIJING]
    device: dict[str, Any] = {"id": device_id, "name": "端到端测试水位计", "owner_code": SIJING}
    device |= {"profile": "water_level_gauge", "lon": lon, "lat": lat, "site": "测试河道"}
    reply = client.post("/api/v1/iot/devices", json=device, headers=headers)
    assert reply.status_code == 201, reply.text
    token = reply.json()["token"]
    instance: dict[str, Any] = {"template_code": "flood_water_level", "owner_code": SIJING}
    instance |= {"name": "端到端水位", "device_ids": [device_id]}
    instance["overrides"] = {"lines": [3.0, 3.5, 4.0], "duration_s": 60, "hysteresis": 0.1}
    reply = client.post(f"{SCENARIOS}/instances", json=instance, headers=headers)
    assert reply.status_code == 201, reply.text
    instance_id = reply.json()["id"]
    engine = client.app.state.iot_scenarios  # type: ignore[attr-defined]
    client.portal.call(engine.reload)  # type: ignore[union-attr]
    consumer = client.app.state.iot.consumer  # type: ignore[attr-defined]
    assert consumer is not None and consumer.connected.wait(HANG_GUARD_S)

    # 3.2 m, over the 3.0 m line, every 10 s for 2 minutes (the line's duration is 60 s); one
    # message twice (QoS 1 redelivery as a device would cause it); then back to 2.8 m, below
    # the line minus its hysteresis, which clears the event.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    levels = [(start + timedelta(seconds=10 * i), 3.2) for i in range(13)]
    levels.append((start + timedelta(seconds=130), 2.8))
    topic = f"{prefix}/{SIJING}/{device_id}/telemetry"
    for ts, level in [*levels[:7], levels[6], *levels[7:]]:
        publish(
            broker, topic, {"token": token, "ts": ts.isoformat(), "values": {"water_level": level}}
        )

    stored = select(func.count()).select_from(Telemetry).where(Telemetry.device_id == device_id)
    wait_for("the readings stored", lambda: count(backend, stored) == len(levels))

    def evaluated() -> int:
        health = client.get(f"{SCENARIOS}/health", headers=headers).json()
        return int(health["instances"].get(str(instance_id), {}).get("processed", 0))

    wait_for("the readings evaluated", lambda: evaluated() >= len(levels))
    client.portal.call(engine.idle)  # type: ignore[union-attr]

    params: dict[str, Any] = {"instance_id": instance_id}
    params["status"] = ["active", "acknowledged", "cleared"]
    found = client.get(f"{SCENARIOS}/events", params=params, headers=headers).json()
    assert len(found) == 1, found
    (event,) = found
    assert event["status"] == "cleared"
    opened = start + timedelta(seconds=60)
    assert datetime.fromisoformat(event["fired_at"]) == opened
    cases = select(func.count()).select_from(CaseRecord)
    cases = cases.where(CaseRecord.source_key == event["case_key"])
    assert count(backend, cases) == 1
