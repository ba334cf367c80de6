"""`JetStreamBus`: the `kit.bus.Bus` interface on NATS JetStream.

Publishing puts the event on `<prefix>.ev.<name>` in the events stream with its message id.
A shared subscriber is a durable pull consumer (`consumer.DurableConsumer`) whose work every
worker shares; a fanout subscriber is a plain NATS subscription on the same subject, so every
worker hears every event at once (live pages, cache eviction). Staged events are relayed after
commit (`relay`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections import defaultdict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.js.client import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.kit.bus import event_name, safe_name, subscriber_name
from cityops.kit.events import Event, decodes
from cityops.kit.jetstream.catchup import CatchUp
from cityops.kit.jetstream.consumer import ConsumerPolicy, DurableConsumer, EventHandler
from cityops.kit.jetstream.dead import DeadLetterWatch
from cityops.kit.jetstream.names import MSG_ID, Names, ensure_streams, msg_id
from cityops.kit.jetstream.relay import Sweeper, stage_event

if TYPE_CHECKING:
    from cityops.config import Settings

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
#: How often the client pings the server, and how many pings may go unanswered: a link that
#: broke silently is noticed within their product, which bounds what a reconnect replays.
PING_SECONDS, MAX_PINGS = 20, 2
#: The one fault that can be injected (tests of the relay): die between commit and publish.
DIE_BEFORE_PUBLISH = "die-before-publish"


class JetStreamBus:
    """Events on NATS JetStream: durable shared consumers, fanout subscriptions, a relay."""

    def __init__(
        self,
        url: str,
        names: Names | None = None,
        policy: ConsumerPolicy | None = None,
        *,
        sessions: async_sessionmaker[AsyncSession] | None = None,
        max_attempts: int = 12,
        grace: float = 5.0,
        duplicate_window: float = 600.0,
        max_age: float = 7 * 86400.0,
        fault: str = "",
        deliver_all: bool = False,
    ) -> None:
        self.url = url
        self.names = names or Names()
        self.policy = policy or ConsumerPolicy()
        self.sessions = sessions
        self.max_attempts = max_attempts
        self.grace = grace
        self.duplicate_window = duplicate_window
        self.max_age = max_age
        self.fault = fault
        self.deliver_all = deliver_all  # new durable consumers start at the stream's first event
        self.consumers: dict[str, DurableConsumer] = {}
        self._shared: dict[str, tuple[str, EventHandler]] = {}
        self._fanout: dict[str, list[EventHandler]] = defaultdict(list)
        self._fanout_bound: set[str] = set()
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self.sweeper: Sweeper | None = None
        self.dead_watch: DeadLetterWatch | None = None
        self.catch_up = CatchUp(
            self.names,
            self._hear,
            self._has_listeners,
            stale_window=PING_SECONDS * (MAX_PINGS + 1),
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self.published = 0

    @classmethod
    def from_settings(
        cls, settings: Settings, sessions: async_sessionmaker[AsyncSession] | None = None
    ) -> JetStreamBus:
        """The bus the settings describe (not connected yet)."""
        assert settings.bus_url
        return cls(
            settings.bus_url,
            Names(settings.bus_prefix),
            ConsumerPolicy(
                ack_wait=settings.bus_ack_wait_seconds,
                max_ack_pending=settings.bus_max_ack_pending,
                max_deliver=settings.bus_max_deliver,
                retry_seconds=settings.bus_retry_seconds,
            ),
            sessions=sessions,
            max_attempts=settings.outbox_max_attempts,
            grace=settings.bus_relay_grace_seconds,
            duplicate_window=settings.bus_duplicate_window_seconds,
            max_age=settings.bus_max_age_days * 86400.0,
            fault=os.environ.get("CITYOPS_BUS_FAULT", ""),
        )

    # --- subscribing ----------------------------------------------------------------------------

    def subscribe(
        self,
        event_type: type[E] | str,
        handler: Callable[[E], Awaitable[None]],
        *,
        name: str | None = None,
        fanout: bool = False,
    ) -> None:
        """Hear an event type: shared by the workers (durable consumer) or in each (fanout)."""
        event = event_name(event_type)
        if fanout:
            self._fanout[event].append(handler)  # type: ignore[arg-type]
            return
        durable = safe_name(name) if name else subscriber_name(handler, event_type)
        if durable in self._shared:
            raise ValueError(f"two subscribers are named {durable!r}: name one")
        self._shared[durable] = (event, handler)  # type: ignore[assignment]

    # --- life -----------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the connection to the server is up."""
        return self._nc is not None and self._nc.is_connected

    @property
    def js(self) -> JetStreamContext:
        """The JetStream context (after `start`)."""
        if self._js is None:
            raise RuntimeError("the bus is not started")
        return self._js

    async def start(self) -> None:
        """Connect, make the streams, start the consumers not yet started (again: the new ones)."""
        if self._nc is None:
            self._nc = await nats.connect(
                self.url,
                name=f"cityops-{os.getpid()}",
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=5,
                # Our own events reach our fanout listeners in `publish`, never off the wire:
                # no round trip through the server, no second decoding.
                no_echo=True,
                ping_interval=PING_SECONDS,
                max_outstanding_pings=MAX_PINGS,
                disconnected_cb=self._disconnected,
                reconnected_cb=self._reconnected,
            )
            self._js = self._nc.jetstream()
            await ensure_streams(
                self._js, self.names, duplicate_window=self.duplicate_window, max_age=self.max_age
            )
            self.dead_watch = DeadLetterWatch(self._nc, self._js, self.names)
            await self.dead_watch.start()  # before any consumer: no advisory goes unheard
            if self.sessions is not None:
                self.sweeper = Sweeper(self.sessions)
                self.sweeper.listen()
        for durable, (event, handler) in self._shared.items():
            if durable not in self.consumers:
                consumer = DurableConsumer(
                    self.js,
                    self.names,
                    durable,
                    event,
                    handler,
                    self.policy,
                    deliver_all=self.deliver_all,
                )
                await consumer.start()
                self.consumers[durable] = consumer
        for event in self._fanout:
            if event not in self._fanout_bound:
                await self._nc.subscribe(self.names.subject(event), cb=self._fan_out)
                self._fanout_bound.add(event)
        await self._nc.flush()  # the server has our subscriptions before start returns

    async def _disconnected(self) -> None:
        self.catch_up.disconnected()

    async def _reconnected(self) -> None:
        """Back on the server: replay what the fanout listeners missed (in the background)."""
        if not self._fanout or self._js is None:
            return
        task = asyncio.create_task(self.catch_up.replay(self._js), name="cityops-bus-catch-up")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _has_listeners(self, event: str) -> bool:
        return event in self._fanout or "*" in self._fanout

    async def close(self) -> None:
        """Stop the consumers (unacked messages go to other workers), flush, disconnect."""
        for task in list(self._tasks):
            task.cancel()
        for consumer in self.consumers.values():
            await consumer.stop()
        self.consumers.clear()
        if self.dead_watch is not None:
            await self.dead_watch.stop()
            self.dead_watch = None
        if self._js is not None:  # acknowledgements still on their way: their rows may go
            with contextlib.suppress(TimeoutError, NatsError):
                await asyncio.wait_for(self._js.publish_async_completed(), timeout=5)
        if self.sweeper is not None:
            await self.sweeper.close()
            self.sweeper = None
        nc, self._nc, self._js = self._nc, None, None
        self._fanout_bound.clear()
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(NatsError):
                await nc.drain()

    # --- publishing -----------------------------------------------------------------------------

    def stage(self, session: AsyncSession, event: Event) -> None:
        """Write the event to the outbox in the session's transaction."""
        stage_event(session, self.names, event, max_attempts=self.max_attempts, grace=self.grace)

    async def publish(self, event: Event) -> None:
        """Put the event on the stream (de-duplicated by its key).

        An event kept in the outbox by a committed transaction is sent without waiting for the
        server's acknowledgement (the request that committed it is not held up by the round
        trip); its outbox row goes once the acknowledgement comes, and stays for the relay if
        none does. Any other event is acknowledged before this returns, or it raises.
        """
        if self.fault == DIE_BEFORE_PUBLISH:  # fault injection: the relay must pick it up
            os.kill(os.getpid(), signal.SIGKILL)
        mid = msg_id(event)
        subject, headers = self.names.subject(event.name), {MSG_ID: mid}
        sweeper = self.sweeper
        staged = sweeper.body(mid) if sweeper is not None else None
        if staged is not None:
            ack = await self.js.publish_async(
                subject, staged, headers=headers, stream=self.names.events_stream
            )
            ack.add_done_callback(partial(self._acked, mid))
        else:
            await self.js.publish(
                subject, event.to_json(), headers=headers, stream=self.names.events_stream
            )
            self.published += 1
        await self._hear(event)  # this worker's listeners: the server echoes nothing to us

    def _acked(self, mid: str, ack: asyncio.Future[Any]) -> None:
        if ack.cancelled() or ack.exception() is not None:  # the relay publishes it later
            log.warning(
                "bus: %s not acknowledged: %r", mid, None if ack.cancelled() else ack.exception()
            )
            return
        self.published += 1
        if self.sweeper is not None:
            self.sweeper.published(mid)

    async def _fan_out(self, message: Msg) -> None:
        event = decodes(message.data)
        if event is None:
            log.warning("bus: dropped a message that is not an event on %s", message.subject)
            return
        self.catch_up.heard()
        await self._hear(event)

    async def _hear(self, event: Event) -> None:
        """Hand an event to this worker's fanout listeners; one failing is its own."""
        for handler in (*self._fanout.get(event.name, ()), *self._fanout.get("*", ())):
            try:
                await handler(event)
            except Exception:  # one listener's failure is its own
                log.exception("bus: fanout handler for %s failed", event.name)

    # --- health ---------------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """Connected, the stream's size, each consumer's lag, dead letters per consumer."""
        report: dict[str, Any] = {
            "adapter": "nats-jetstream",
            "connected": self.connected,
            "server": self.url.rsplit("@", 1)[-1],
            "stream": None,
            "consumers": [],
            "dead_letters": None,
            "error": None,
        }
        if not self.connected:
            return report
        try:
            events = await self.js.stream_info(self.names.events_stream)
            dead = await self.js.stream_info(self.names.dead_stream, subjects_filter=">")
            report["stream"] = {
                "name": self.names.events_stream,
                "messages": events.state.messages,
                "last_seq": events.state.last_seq,
            }
            per_consumer = {
                subject.rsplit(".", 1)[-1]: count
                for subject, count in (dead.state.subjects or {}).items()
            }
            report["dead_letters"] = dead.state.messages
            # Every durable consumer on the server, not only this worker's: any worker (or
            # `cityops bus status`) shows the whole picture.
            for info in await self.js.consumers_info(self.names.events_stream):
                name = info.name
                local = self.consumers.get(name)
                report["consumers"].append(
                    {
                        "name": name,
                        "subject": (info.config.filter_subject or "") if info.config else "",
                        "pending": info.num_pending or 0,
                        "ack_pending": info.num_ack_pending or 0,
                        "redelivered": info.num_redelivered or 0,
                        "dead_letters": per_consumer.get(name, 0),
                        "handled_here": local.handled if local else 0,
                    }
                )
        except NatsError as exc:
            report["error"] = type(exc).__name__
        return report
