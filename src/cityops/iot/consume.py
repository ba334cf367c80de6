"""A consumer process without the web app: `cityops iot consume` (scale out beside workers)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from cityops.config import Settings
from cityops.iot.runtime import build_runtime, run_runtime
from cityops.iot.settings import IotSettings
from cityops.kit.db import create_engine, create_sessionmaker

log = logging.getLogger(__name__)


async def consume(settings: Settings, iot: IotSettings, stats_every: float = 0.0) -> None:
    """Consume MQTT into the store until SIGTERM or SIGINT, then flush and leave."""
    if not iot.mqtt_url:
        raise SystemExit("set CITYOPS_MQTT_URL (mqtt://host:port) to consume")
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    runtime = build_runtime(sessions, iot, [])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run_runtime(runtime, sessions)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), stats_every or 3600)
            if stats_every:
                s = runtime.writer.stats
                print(f"stored={s.stored} readings={s.readings} dead={s.dead}", flush=True)
    finally:
        await runtime.close()
        await engine.dispose()
