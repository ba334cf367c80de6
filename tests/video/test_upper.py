"""The upper-platform role end to end over real UDP and TCP sockets, with synthetic devices."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from cityops.video.gb28181.config import PlatformConfig
from cityops.video.gb28181.manscdp import build, catalog_response
from cityops.video.gb28181.upper import UpperPlatform
from cityops.video.simulator.fleet import Fleet, SimDevice, device_code, synthetic_channels
from tests.video.memory_store import MemoryStore, sync

PASSWORD = "sim-Passw0rd"
DOMAIN = "3101170000"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def config(**overrides: object) -> PlatformConfig:
    values: dict[str, object] = {
        "platform_id": "31011700002000000001",
        "domain": DOMAIN,
        "password": PASSWORD,
        "host": "127.0.0.1",
        "port": 0,
        "catalog_timeout": 5.0,
    }
    values.update(overrides)
    return PlatformConfig(**values)  # type: ignore[arg-type]


@asynccontextmanager
async def running(
    store: MemoryStore, kind: str = "udp", clock: Clock | None = None, **overrides: object
) -> AsyncIterator[tuple[UpperPlatform, Fleet]]:
    platform = UpperPlatform(config(**overrides), store, clock=clock or Clock())
    await platform.start()
    fleet = Fleet(("127.0.0.1", platform.port), domain=DOMAIN, password=PASSWORD, kind=kind)  # type: ignore[arg-type]
    await fleet.start()
    try:
        yield platform, fleet
    finally:
        await fleet.stop()
        await platform.stop()


def nvr(serial: int, channels: int) -> SimDevice:
    code = device_code("31011710", 118, serial)
    return SimDevice(code, f"模拟录像机{serial}", synthetic_channels(code, channels))


@pytest.mark.parametrize("kind", ["udp", "tcp"])
@sync
async def test_register_keepalive_catalog(kind: str) -> None:
    store, clock = MemoryStore(), Clock()
    async with running(store, kind, clock) as (platform, fleet):
        device = nvr(1, 45)
        fleet.add(device)
        answer = await fleet.register(device.device_id)
        assert answer.status == 200, answer.reason
        assert answer.header("Date") and answer.header("Expires") == "3600"
        await store.until(lambda: device.device_id in store.catalogs)
        catalog = store.catalogs[device.device_id]
        assert catalog.complete and catalog.sum_num == 45 and len(catalog.items) == 45
        assert fleet.catalogs_sent == 1
        names = {i["Name"] for i in catalog.items.values()}
        assert {c["Name"] for c in device.channels} == names  # rare characters unchanged
        assert store.infos[device.device_id]["DeviceName"] == device.name
        assert (await fleet.keepalive(device.device_id)).status == 200
        assert await platform.sweep() == []
        assert device.device_id in store.keepalives
        clock.now += 3 * 60 + 1  # three missed keepalives
        assert await platform.sweep() == [device.device_id]
        assert store.online[device.device_id] is False
        assert (await fleet.keepalive(device.device_id)).status == 200  # back online
        assert store.online[device.device_id] is True
        clock.now += 3600  # the registration expires: offline, and keepalives are refused
        assert await platform.sweep() == [device.device_id]
        assert (await fleet.keepalive(device.device_id)).status == 403
        assert (await fleet.register(device.device_id)).status == 200
        gone = await fleet.register(device.device_id, expires=0)
        assert gone.status == 200 and store.online[device.device_id] is False


@sync
async def test_wrong_password_is_403_and_unknown_device_403() -> None:
    store = MemoryStore()
    async with running(store) as (_platform, fleet):
        device = nvr(2, 0)
        fleet.add(device)
        answer = await fleet.register(device.device_id, password="wrong")
        assert answer.status == 403
        assert "password" in (answer.header("Warning") or "")
        assert (await fleet.keepalive(device.device_id)).status == 403  # never registered
        assert device.device_id not in store.registrations


@sync
async def test_invalid_id_is_400_with_reason() -> None:
    async with running(MemoryStore()) as (_platform, fleet):
        answer = await fleet.register("3101171000118")
        assert answer.status == 400
        assert "20 digits" in (answer.header("Warning") or "")
        answer = await fleet.register("31011710000990000001")  # type 099: reserved
        assert answer.status == 400 and "reserved" in (answer.header("Warning") or "")


@sync
async def test_register_flood_from_one_address_gets_503() -> None:
    store = MemoryStore()
    async with running(store, register_limit=5, register_window=60.0) as (_platform, fleet):
        answers = []
        for serial in range(8):
            device = nvr(100 + serial, 0)
            fleet.add(device)
            answers.append(await fleet.register(device.device_id))
        statuses = [a.status for a in answers]
        assert 503 in statuses and statuses.count(200) <= 3  # each registration costs 2 REGISTERs
        assert all(a.header("Retry-After") for a in answers if a.status == 503)


@sync
async def test_catalog_with_a_lost_packet_is_kept_incomplete() -> None:
    store = MemoryStore()
    async with running(store, catalog_timeout=0.5) as (platform, fleet):
        device = nvr(3, 30)
        fleet.add(device)
        assert (await fleet.register(device.device_id)).status == 200
        await store.until(lambda: device.device_id in store.catalogs)
        waiter = asyncio.ensure_future(platform.catalogs.wait(device.device_id, 77))
        # SumNum 30 announced, only the first 20 items arrive: the second packet is lost.
        body = catalog_response(77, device.device_id, 30, device.channels[:20])
        request = fleet._request("MESSAGE", device.device_id, body)
        assert (await fleet.client.request(request, fleet.peer)).status == 200
        catalog = await asyncio.wait_for(waiter, 30)
        assert not catalog.complete and len(catalog.items) == 20 and catalog.sum_num == 30


@sync
async def test_alarm_reaches_the_store_once_despite_retransmission() -> None:
    store = MemoryStore()
    async with running(store) as (platform, fleet):
        device = nvr(4, 2)
        fleet.add(device)
        assert (await fleet.register(device.device_id)).status == 200
        channel = device.channels[0]["DeviceID"]
        request = fleet._request("MESSAGE", device.device_id, b"")
        request.body = build("Notify", "Alarm", 9, channel, AlarmPriority="1", AlarmMethod="5")
        request.headers.append(("Content-Type", "Application/MANSCDP+xml"))
        fleet.endpoint.send(request, fleet.peer)  # the same request twice: a UDP retransmission
        assert (await fleet.client.request(request, fleet.peer)).status == 200
        await store.until(lambda: len(store.alarms) >= 1)
        assert [a[1].device_id for a in store.alarms] == [channel]
        again, resent = platform.server.begin(request)
        assert not again and resent is not None and resent.status == 200
