"""`cityops bus relay`: the outbox dispatcher with the bus channel only, as its own process."""

from __future__ import annotations

import asyncio
import signal

from cityops.config import Settings
from cityops.kit.db import create_engine, create_sessionmaker
from cityops.kit.outbox.dispatcher import OutboxDispatcher
from cityops.outbox.runtime import retry_policy


async def run_relay(settings: Settings, *, interval: float | None, once: bool) -> str:
    """Relay due staged events until SIGINT/SIGTERM (or one pass with `once`)."""
    if not settings.bus_url:
        return "no CITYOPS_BUS_URL: the in-process bus has nothing to relay"
    from cityops.kit.jetstream.relay import BUS_CHANNEL, BusChannel

    engine = create_engine(settings.database_url)
    channel = BusChannel(settings.bus_url)
    dispatcher = OutboxDispatcher(
        create_sessionmaker(engine),
        {BUS_CHANNEL: channel},
        policy=retry_policy(settings),
        interval=interval or settings.outbox_interval_seconds,
        name="bus-relay",
    )
    try:
        if once:
            report = await dispatcher.run_once()
            return f"relayed {len(report.delivered)}, retrying {len(report.retrying)}"
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        dispatcher.start()
        await stop.wait()
        await dispatcher.stop()
        return "bus relay stopped"
    finally:
        await channel.close()
        await engine.dispose()
