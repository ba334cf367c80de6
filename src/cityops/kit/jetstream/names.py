"""Subjects, stream names and message ids: the contract an integrator sees on the server."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext
from nats.js.errors import BadRequestError, NotFoundError

from cityops.kit.events import Event

#: Headers of a dead letter: why, from which subject and consumer, after how many deliveries.
REASON = "Cityops-Reason"
SUBJECT = "Cityops-Subject"
CONSUMER = "Cityops-Consumer"
DELIVERIES = "Cityops-Deliveries"
MSG_ID = "Nats-Msg-Id"


def msg_id(event: Event) -> str:
    """The message id JetStream de-duplicates on: the event's key, prefixed with its name.

    Case events' keys already start with their name (`case.created:17`); other producers'
    keys (a sensor's source key) may be reused by another event type, so the name scopes them.
    """
    prefix = f"{event.name}:"
    return event.key if event.key.startswith(prefix) else prefix + event.key


@dataclass(frozen=True, slots=True)
class Names:
    """Where one deployment's events live on a (possibly shared) server."""

    prefix: str = "cityops"

    @property
    def events_stream(self) -> str:
        """The stream holding every domain event."""
        return f"{self.prefix.upper()}_EVENTS"

    @property
    def dead_stream(self) -> str:
        """The stream holding dead letters."""
        return f"{self.prefix.upper()}_DEAD"

    def subject(self, name: str) -> str:
        """The subject of an event name (`ALL` → every event)."""
        return f"{self.prefix}.ev.>" if name == "*" else f"{self.prefix}.ev.{name}"

    def dead_subject(self, consumer: str) -> str:
        """Where a consumer's dead letters go."""
        return f"{self.prefix}.dead.{consumer}"

    def event_name(self, subject: str) -> str:
        """The event name of a subject of ours."""
        return subject.removeprefix(f"{self.prefix}.ev.")


async def ensure_streams(
    js: JetStreamContext, names: Names, *, duplicate_window: float, max_age: float
) -> None:
    """Create (or bring up to date) the events and dead-letter streams."""
    for config in (
        StreamConfig(
            name=names.events_stream,
            subjects=[names.subject("*")],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=max_age,
            duplicate_window=duplicate_window,
        ),
        StreamConfig(
            name=names.dead_stream,
            subjects=[f"{names.prefix}.dead.>"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=max_age * 4,
            duplicate_window=duplicate_window,
        ),
    ):
        await _put_stream(js, config)


async def _put_stream(js: JetStreamContext, config: StreamConfig) -> None:
    try:
        await js.stream_info(str(config.name))
    except NotFoundError:
        try:
            await js.add_stream(config)
            return
        except BadRequestError:  # another worker created it between the two calls
            pass
    await js.update_stream(config)


async def delete_streams(js: JetStreamContext, names: Names) -> None:
    """Remove both streams (tests and `cityops bus reset`)."""
    for stream in (names.events_stream, names.dead_stream):
        with contextlib.suppress(NotFoundError):
            await js.delete_stream(stream)


def header(headers: dict[str, Any] | None, key: str) -> str:
    """One header's value, or ''."""
    return str((headers or {}).get(key, ""))
