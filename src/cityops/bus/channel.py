"""The outbox channel that relays staged events to NATS when a writer died before publishing."""

from __future__ import annotations

import httpx

from cityops.config import Settings
from cityops.kit.outbox.queue import Channel


def channels(settings: Settings, client: httpx.AsyncClient) -> dict[str, Channel]:
    """`bus` when the bus is on NATS; nothing to relay in-process."""
    if not settings.bus_url:
        return {}
    from cityops.kit.jetstream.relay import BUS_CHANNEL, BusChannel

    return {BUS_CHANNEL: BusChannel(settings.bus_url)}
