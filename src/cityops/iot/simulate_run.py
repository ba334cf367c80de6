"""The simulator's wiring: devices from the database, readings out over HTTP or MQTT."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from cityops.config import Settings
from cityops.iot.demo import seed_demo_devices
from cityops.iot.settings import IotSettings
from cityops.iot.simulator import SimDevice, SimStats, run_ticks, take_devices
from cityops.kit.db import in_unit_of_work, utcnow


async def _devices(settings: Settings) -> list[SimDevice]:
    async def work(session: Any) -> list[SimDevice]:
        await seed_demo_devices(session)
        return await take_devices(session)

    return await in_unit_of_work(settings.database_url, work)


async def simulate(
    settings: Settings,
    base_url: str,
    mqtt_url: str | None,
    interval: float,
    rounds: int | None,
    seed: int | None,
) -> SimStats:
    """Run the simulator until `rounds` are done (or for ever)."""
    devices = await _devices(settings)
    if mqtt_url:
        return await _over_mqtt(devices, mqtt_url, interval, rounds, seed)
    async with httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=15) as client:

        async def send(dev: SimDevice, body: dict[str, Any]) -> None:
            reply = await client.post(
                "/api/v1/iot/telemetry", json={"device": dev.id, "token": dev.token, **body}
            )
            reply.raise_for_status()

        return await run_ticks(
            devices, send, clock=utcnow, interval=interval, ticks=rounds, seed=seed
        )


async def _over_mqtt(
    devices: list[SimDevice], url: str, interval: float, rounds: int | None, seed: int | None
) -> SimStats:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from cityops.iot.ingest.mqtt import broker_address

    prefix = IotSettings().mqtt_topic_prefix
    host, port = broker_address(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(host, port)
    client.loop_start()
    try:

        async def send(dev: SimDevice, body: dict[str, Any]) -> None:
            topic = f"{prefix}/{dev.owner_code}/{dev.id}/telemetry"
            client.publish(topic, orjson.dumps({"token": dev.token, **body}), qos=1)

        return await run_ticks(
            devices, send, clock=utcnow, interval=interval, ticks=rounds, seed=seed
        )
    finally:
        client.loop_stop()
        client.disconnect()
