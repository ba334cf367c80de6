"""One durable pull consumer per subscriber: explicit ack, redelivery, dead letters.

Every worker that binds the same subscriber pulls from the same durable consumer, so the
workers share its events (queue semantics) and each event is handled once, unless a worker
dies holding it: after `ack_wait` the server gives it to another. A handler that raises gets
the event again after a growing delay; at the `max_deliver`-th failure the event goes to the
dead-letter stream with the reason in its headers, and the consumer moves on. Consumers are
independent: a slow or failing one never holds back another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from cityops.kit.events import Event, decodes
from cityops.kit.jetstream.dead import one_line, write_dead_letter
from cityops.kit.jetstream.names import Names

log = logging.getLogger(__name__)

EventHandler = Callable[[Event], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ConsumerPolicy:
    """How long a message may be held, how many may be out, how often it is tried."""

    ack_wait: float = 30.0
    max_ack_pending: int = 256
    max_deliver: int = 5
    retry_seconds: float = 2.0
    batch: int = 64
    fetch_seconds: float = 2.0  # how long one pull waits for messages (a stop waits this long)

    def delay(self, deliveries: int) -> float:
        """Wait before the next delivery after `deliveries` failed ones (doubling, capped)."""
        return float(min(self.retry_seconds * 2.0 ** max(deliveries - 1, 0), self.ack_wait, 300.0))


class DurableConsumer:
    """Pull one subscriber's events from its durable consumer and hand them to its handler."""

    def __init__(
        self,
        js: JetStreamContext,
        names: Names,
        name: str,
        event_name: str,
        handler: EventHandler,
        policy: ConsumerPolicy,
        *,
        deliver_all: bool = False,
    ) -> None:
        self.js = js
        self.names = names
        self.name = name
        self.subject = names.subject(event_name)
        self.handler = handler
        self.policy = policy
        self.deliver_all = deliver_all
        self.handled = 0
        self.failed = 0
        self.dead = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._sub: JetStreamContext.PullSubscription | None = None

    def config(self) -> ConsumerConfig:
        """The durable consumer's configuration on the server."""
        return ConsumerConfig(
            durable_name=self.name,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.policy.ack_wait,
            max_ack_pending=self.policy.max_ack_pending,
            max_deliver=self.policy.max_deliver,
            filter_subject=self.subject,
            # A subscriber added later starts from now, not from a week of history.
            deliver_policy=DeliverPolicy.ALL if self.deliver_all else DeliverPolicy.NEW,
        )

    async def start(self) -> None:
        """Bind (creating if needed) the durable consumer and start pulling."""
        self._sub = await self.js.pull_subscribe(
            self.subject, durable=self.name, stream=self.names.events_stream, config=self.config()
        )
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"cityops-bus-{self.name}")

    async def stop(self, grace: float | None = None) -> None:
        """Finish the message in hand (up to `grace` s); what is unacked is redelivered later."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        done, _ = await asyncio.wait({task}, timeout=grace or self.policy.fetch_seconds + 5)
        if not done:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, NatsError):
            await task
        if self._sub is not None:
            with contextlib.suppress(NatsError):
                await self._sub.unsubscribe()

    async def _run(self) -> None:
        assert self._sub is not None
        while not self._stopping.is_set():
            try:
                messages = await self._sub.fetch(
                    self.policy.batch, timeout=self.policy.fetch_seconds
                )
            except (NatsTimeout, TimeoutError):
                continue
            except NatsError as exc:  # disconnected: nats-py reconnects; try again shortly
                log.warning("bus consumer %s: %r", self.name, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=1.0)
                continue
            for message in messages:
                try:
                    await self.handle(message)
                except (NatsError, TimeoutError) as exc:  # an ack lost: it is redelivered
                    log.warning("bus consumer %s: %r", self.name, exc)

    async def handle(self, message: Msg) -> None:
        """Run the handler on one message; ack, retry later, or dead-letter it."""
        deliveries = message.metadata.num_delivered or 1
        event = decodes(message.data)
        if event is None:
            await self._dead_letter(message, "not a valid event envelope", deliveries)
            return
        try:
            await self.handler(event)
        except Exception as exc:  # the handler's failure is this message's, not the loop's
            self.failed += 1
            reason = one_line(f"{type(exc).__name__}: {exc}")
            if deliveries >= self.policy.max_deliver:
                await self._dead_letter(message, reason, deliveries)
            else:
                log.warning("bus consumer %s: %s (delivery %s)", self.name, reason, deliveries)
                await message.nak(delay=self.policy.delay(deliveries))
            return
        await message.ack()
        self.handled += 1

    async def _dead_letter(self, message: Msg, reason: str, deliveries: int) -> None:
        try:
            await write_dead_letter(
                self.js,
                self.names,
                consumer=self.name,
                subject=message.subject,
                data=message.data,
                reason=reason,
                deliveries=deliveries,
                stream_seq=message.metadata.sequence.stream,
            )
        except NatsError as exc:  # keep it: the next delivery (or the advisory) writes it
            log.error("bus consumer %s: dead letter not written: %r", self.name, exc)
            await message.nak(delay=self.policy.delay(deliveries))
            return
        await message.term()
        self.dead += 1
        log.error(
            "bus consumer %s: dead letter after %s deliveries: %s", self.name, deliveries, reason
        )
