"""`cityops simulate video`: N synthetic devices register, keep alive and answer catalogs."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass

from cityops.video.simulator.fleet import Fleet, SimDevice, device_code, synthetic_channels
from cityops.video.sip.transport import Kind

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VideoSimConfig:
    """What to simulate and where the platform is."""

    host: str = "127.0.0.1"
    port: int = 5060
    domain: str = "3101170000"
    password: str = "12345678"
    devices: int = 10
    channels: int = 8
    packet_items: int = 4
    civil_code: str = "31011700"
    transport: Kind = "udp"
    keepalive_seconds: float = 60.0
    duration: float | None = None
    concurrency: int = 200
    first_serial: int = 1


@dataclass(slots=True)
class VideoSimStats:
    """What happened, for the closing line."""

    registered: int = 0
    refused: int = 0
    keepalives: int = 0
    keepalive_failures: int = 0
    catalogs: int = 0
    register_seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{self.registered} synthetic devices registered in {self.register_seconds:.1f} s "
            f"({self.refused} refused), {self.keepalives} keepalives "
            f"({self.keepalive_failures} failed), {self.catalogs} catalogs answered"
        )


def build_fleet(config: VideoSimConfig) -> Fleet:
    """The fleet and its devices (synthetic NVRs with rare-character camera names)."""
    fleet = Fleet(
        (config.host, config.port),
        domain=config.domain,
        password=config.password,
        kind=config.transport,
        packet_items=config.packet_items,
    )
    for serial in range(config.first_serial, config.first_serial + config.devices):
        code = device_code(config.civil_code, 118, serial)
        fleet.add(SimDevice(code, f"模拟录像机{serial}", synthetic_channels(code, config.channels)))
    return fleet


async def live(
    fleet: Fleet, device: SimDevice, gate: asyncio.Semaphore, interval: float, stats: VideoSimStats
) -> None:
    """One device: register (at most `gate` at a time), then keep alive every `interval`."""
    async with gate:
        try:
            answer = await fleet.register(device.device_id)
        except (TimeoutError, ConnectionError):
            answer = None
    if answer is None or answer.status != 200:
        stats.refused += 1
        return
    stats.registered += 1
    # Devices spread their keepalives (a simulation, not a secret).
    await asyncio.sleep(random.uniform(0, interval))  # noqa: S311
    while True:
        started = time.perf_counter()
        try:
            ok = (await fleet.keepalive(device.device_id)).status == 200
        except (TimeoutError, ConnectionError):
            ok = False
        stats.keepalives += ok
        stats.keepalive_failures += not ok
        await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))


async def simulate_video(config: VideoSimConfig) -> VideoSimStats:
    """Run the fleet until `duration` (or forever)."""
    stats = VideoSimStats()
    fleet = build_fleet(config)
    await fleet.start()
    gate = asyncio.Semaphore(config.concurrency)
    started = time.perf_counter()
    lives = [
        asyncio.ensure_future(live(fleet, d, gate, config.keepalive_seconds, stats))
        for d in fleet.devices.values()
    ]
    try:
        deadline = None if config.duration is None else started + config.duration
        while stats.registered + stats.refused < len(lives):
            if deadline is not None and time.perf_counter() > deadline:
                break
            await asyncio.sleep(0.05)
        stats.register_seconds = time.perf_counter() - started
        log.info("simulate video: %s", stats.line())
        remaining = None if deadline is None else max(0.0, deadline - time.perf_counter())
        await asyncio.wait(lives, timeout=remaining)
    finally:
        for task in lives:
            task.cancel()
        await asyncio.gather(*lives, return_exceptions=True)
        stats.catalogs = fleet.catalogs_sent
        await fleet.stop()
    return stats
