"""The hub's life in an app: registry cache, writer, sinks, MQTT consumer, offline sweep."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.iot.ingest.mqtt import MqttConsumer
from cityops.iot.ingest.sinks import SinkHub
from cityops.iot.ingest.writer import BatchWriter
from cityops.iot.readings import ReadingSink
from cityops.iot.registry.directory import CachedDirectory, RegistryCache
from cityops.iot.registry.service import sweep_offline
from cityops.iot.settings import IotSettings
from cityops.kit.db import utcnow

log = logging.getLogger(__name__)


@dataclass
class IotRuntime:
    """Everything the hub runs in one process."""

    settings: IotSettings
    cache: RegistryCache
    directory: CachedDirectory
    writer: BatchWriter
    sinks: SinkHub
    consumer: MqttConsumer | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def close(self) -> None:
        """Stop consuming, flush the writer, stop the sinks."""
        if self.consumer is not None:
            await self.consumer.stop()
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.writer.stop()
        await self.sinks.close()


def build_runtime(
    sessions: async_sessionmaker[AsyncSession],
    settings: IotSettings,
    sinks: list[ReadingSink],
    *,
    mqtt: bool = True,
) -> IotRuntime:
    """Wire the parts (not yet started)."""
    cache = RegistryCache(sessions)
    hub = SinkHub(sinks)
    writer = BatchWriter(
        sessions,
        max_rows=settings.batch_rows,
        max_wait=settings.batch_wait_seconds,
        on_stored=hub.feed_all,
    )
    consumer = MqttConsumer(settings, cache, writer) if mqtt and settings.mqtt_url else None
    return IotRuntime(settings, cache, CachedDirectory(cache), writer, hub, consumer)


async def run_runtime(runtime: IotRuntime, sessions: async_sessionmaker[AsyncSession]) -> None:
    """Start the writer, the consumer (if a broker is set) and the offline sweep."""
    runtime.writer.start()
    if runtime.consumer is not None:
        await runtime.consumer.start()
    loop = asyncio.get_running_loop()
    runtime.tasks.append(loop.create_task(_sweep_forever(runtime, sessions)))


async def _sweep_forever(runtime: IotRuntime, sessions: async_sessionmaker[AsyncSession]) -> None:
    after = timedelta(seconds=runtime.settings.offline_after_seconds)
    while True:
        await asyncio.sleep(runtime.settings.sweep_interval_seconds)
        try:
            async with sessions() as session:
                marked = await sweep_offline(session, utcnow(), after)
                await session.commit()
            if marked:
                log.info("iot: %d devices went offline", marked)
        except Exception:
            log.exception("iot offline sweep failed; next round retries")


async def start_iot(app: Any) -> None:
    """Module start hook: the hub in this app (MQTT only when CITYOPS_MQTT_URL is set)."""
    if not hasattr(app.state, "iot_sinks"):
        app.state.iot_sinks = []
    settings: IotSettings = getattr(app.state, "iot_settings", None) or IotSettings()
    runtime = build_runtime(app.state.sessions, settings, app.state.iot_sinks)
    app.state.iot = runtime
    app.state.iot_directory = runtime.directory
    await run_runtime(runtime, app.state.sessions)


async def stop_iot(app: Any) -> None:
    """Module stop hook."""
    runtime: IotRuntime | None = getattr(app.state, "iot", None)
    if runtime is not None:
        await runtime.close()


def setup_iot(app: Any) -> None:
    """Module setup hook: the sink list exists before any module starts (scenarios append)."""
    app.state.iot_sinks = []
