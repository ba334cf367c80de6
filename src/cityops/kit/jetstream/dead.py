"""Dead letters: one consumer's given-up events, with the reason, in the dead-letter stream.

A consumer writes one itself when its handler fails on the last delivery. When the worker
holding the last delivery dies instead, nobody is left to write it: the server only publishes
a `MAX_DELIVERIES` advisory (a plain NATS message) once it finds the delivery unanswered.
`DeadLetterWatch` hears those advisories (one worker of the queue group each) and writes the
dead letter from the stream's copy of the message. Both write with the message id
`<consumer>:<stream sequence>`, so one event never becomes two dead letters.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import orjson
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from cityops.kit.jetstream.names import CONSUMER, DELIVERIES, MSG_ID, REASON, SUBJECT, Names

log = logging.getLogger(__name__)

#: The advisory nats-server (2.9 too) publishes when a message has used up its deliveries.
MAX_DELIVERIES = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"
#: The reason written for a delivery that went unanswered to the end.
DIED = "worker died on last delivery"


def one_line(text: str, limit: int = 500) -> str:
    """A header value: one line, bounded."""
    return " ".join(text.split())[:limit]


def advisory_subject(names: Names) -> str:
    """The advisories of every consumer of the events stream."""
    return f"{MAX_DELIVERIES}.{names.events_stream}.*"


async def write_dead_letter(
    js: JetStreamContext,
    names: Names,
    *,
    consumer: str,
    subject: str,
    data: bytes,
    reason: str,
    deliveries: int,
    stream_seq: int,
) -> None:
    """Put one dead letter in the dead-letter stream (raises when the server did not take it)."""
    headers: dict[str, Any] = {
        REASON: one_line(reason),
        SUBJECT: subject,
        CONSUMER: consumer,
        DELIVERIES: str(deliveries),
        MSG_ID: f"{consumer}:{stream_seq}",
    }
    await js.publish(names.dead_subject(consumer), data, headers=headers, stream=names.dead_stream)


class DeadLetterWatch:
    """Write the dead letter of every event whose last delivery went unanswered."""

    def __init__(self, nc: NatsClient, js: JetStreamContext, names: Names) -> None:
        self.nc = nc
        self.js = js
        self.names = names
        self.written = 0
        self._sub: Subscription | None = None

    async def start(self) -> None:
        """Join the queue group that hears the advisories (one worker answers each)."""
        self._sub = await self.nc.subscribe(
            advisory_subject(self.names), queue=f"{self.names.prefix}-dead", cb=self.heard
        )

    async def stop(self) -> None:
        """Leave the queue group."""
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(NatsError):
                await sub.unsubscribe()

    async def heard(self, message: Msg) -> None:
        """One advisory: fetch the message by its stream sequence and write its dead letter."""
        try:
            advisory = orjson.loads(message.data)
            consumer, seq = str(advisory["consumer"]), int(advisory["stream_seq"])
            deliveries = int(advisory.get("deliveries") or 0)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("bus: an advisory that is not one: %.200r", message.data)
            return
        subject, data, reason = "", b"", DIED
        try:
            found = await self.js.get_msg(self.names.events_stream, seq)
            subject, data = found.subject or "", found.data or b""
        except NotFoundError:  # aged out of the stream already: the letter says which one
            reason = f"{DIED} (stream sequence {seq} no longer in the stream)"
        try:
            await write_dead_letter(
                self.js,
                self.names,
                consumer=consumer,
                subject=subject,
                data=data,
                reason=reason,
                deliveries=deliveries,
                stream_seq=seq,
            )
        except (NatsError, TimeoutError) as exc:  # an advisory is not redelivered: say it loud
            log.error("bus: dead letter of %s #%s not written: %r", consumer, seq, exc)
            return
        self.written += 1
        log.error("bus consumer %s: dead letter for stream sequence %s: %s", consumer, seq, DIED)
