"""Fanout after a reconnect: replay from the stream what a worker missed while it was away.

Fanout listeners hear plain NATS messages, which a disconnected worker cannot get later. Every
event is also kept in the events stream, so once the connection is back `CatchUp` reads the
stream from shortly before the worker could have lost the link (the last event it heard, or
`stale_window` before the disconnect was noticed, whichever is later) up to the stream's last
event then, and hands those events to the worker's fanout listeners. An event may so reach a
listener twice (heard live just before the link broke, and replayed): fanout listeners are
idempotent (they evict a cache, wake a screen), which is why they may be fanout at all.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from cityops.kit.events import Event, decodes
from cityops.kit.jetstream.names import Names

log = logging.getLogger(__name__)

#: Replayed per pull; a reconnect after a long outage reads the stream in these steps.
BATCH = 256
#: Allowance for the server's clock against ours (start times are the server's).
SKEW_SECONDS = 2.0


class CatchUp:
    """Know when the link may have broken; after a reconnect, replay what followed."""

    def __init__(
        self,
        names: Names,
        hear: Callable[[Event], Awaitable[None]],
        wanted: Callable[[str], bool],
        *,
        stale_window: float,
    ) -> None:
        self.names = names
        self.hear = hear
        self.wanted = wanted  # whether an event name has fanout listeners here
        self.stale_window = stale_window  # how long a broken link may go unnoticed
        self.last_heard = time.time()
        self.disconnected_at: float | None = None
        self.replayed = 0
        self.catch_ups = 0

    def heard(self) -> None:
        """An event arrived live: the link was up until now."""
        self.last_heard = time.time()

    def disconnected(self) -> None:
        """The client noticed the link is down (the first notice counts)."""
        if self.disconnected_at is None:
            self.disconnected_at = time.time()

    def since(self) -> float:
        """The wall-clock time to replay from."""
        down = self.disconnected_at if self.disconnected_at is not None else time.time()
        return max(self.last_heard, down - self.stale_window) - SKEW_SECONDS

    async def replay(self, js: JetStreamContext) -> None:
        """Hand the fanout listeners every stored event since the link may have broken."""
        since = self.since()
        self.disconnected_at = None
        try:
            last = (await js.stream_info(self.names.events_stream)).state.last_seq
            if last:
                await self._read(js, since, last)
        except NatsError as exc:  # down again: the next reconnect replays from the same point
            self.disconnected_at = since + SKEW_SECONDS
            log.warning("bus: fanout catch-up stopped: %r", exc)
            return
        self.catch_ups += 1

    async def _read(self, js: JetStreamContext, since: float, last: int) -> None:
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.BY_START_TIME,
            opt_start_time=datetime.fromtimestamp(since, UTC),
            inactive_threshold=60.0,  # the server drops it if we die while reading
        )
        sub = await js.pull_subscribe(
            self.names.subject("*"), stream=self.names.events_stream, config=config
        )
        try:
            seq = 0
            while seq < last:
                try:
                    messages = await sub.fetch(BATCH, timeout=2)
                except (NatsTimeout, TimeoutError):
                    break  # nothing after `since` (or the rest aged out of the stream)
                for message in messages:
                    seq = message.metadata.sequence.stream
                    if seq > last:  # heard live since the reconnect
                        break
                    name = self.names.event_name(message.subject)
                    event = decodes(message.data) if self.wanted(name) else None
                    if event is not None:
                        self.replayed += 1
                        await self.hear(event)
        finally:
            with contextlib.suppress(NatsError):  # else the server drops it once inactive
                name = (await sub.consumer_info()).name
                await js.delete_consumer(self.names.events_stream, name)
            with contextlib.suppress(NatsError):
                await sub.unsubscribe()
