"""The domain-event bus: modules publish typed events, others react without importing them.

Two adapters carry the same `Bus` interface: `InProcessBus` (the default: one process, nothing
to run) and `cityops.kit.jetstream.JetStreamBus` (NATS JetStream, chosen by
`CITYOPS_BUS_URL`), which carries events between worker processes. `create_bus` picks one.

A subscriber is either *shared* (the default: one durable consumer per subscriber, whose
work N workers share, each event handled once) or *fanout* (every process hears every event:
live pages, cache invalidation). A producer that writes in a transaction calls `stage` inside
it, so a network bus keeps the event in the outbox with the change, and `publish_all` after
commit.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from cityops.kit.events import Event, decodes

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from cityops.config import Settings

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], Awaitable[None]]
#: Subscribe with this instead of an event type to hear every event.
ALL = "*"


class Bus(Protocol):
    """What publishers and subscribers need of a bus, whichever adapter carries it."""

    def subscribe(
        self,
        event_type: type[E] | str,
        handler: Callable[[E], Awaitable[None]],
        *,
        name: str | None = None,
        fanout: bool = False,
    ) -> None:
        """Call `handler` for every event of a type (or of every type, with `ALL`)."""

    async def publish(self, event: Event) -> None:
        """Deliver one event to its subscribers."""

    def stage(self, session: AsyncSession, event: Event) -> None:
        """Keep the event in the session's transaction (a network bus relays it after commit)."""

    async def start(self) -> None:
        """Connect and start consuming (after every subscription is bound)."""

    async def close(self) -> None:
        """Stop consuming and disconnect."""

    async def health(self) -> dict[str, Any]:
        """Connected or not, and each consumer's lag and dead letters."""


def event_name(event_type: type[Event] | str) -> str:
    """The name an event type is published under (or `ALL`)."""
    name = event_type if isinstance(event_type, str) else event_type.name
    if not name:
        raise TypeError(f"{event_type!r} is not a concrete event type")
    return name


def subscriber_name(handler: Callable[..., Any], event_type: type[Event] | str) -> str:
    """A stable name for a subscriber (a durable consumer's name on a network bus)."""
    func = getattr(handler, "func", handler)  # functools.partial
    owner = getattr(func, "__self__", None)
    label = getattr(func, "__qualname__", type(func).__qualname__)
    module = getattr(func, "__module__", "") or (type(owner).__module__ if owner else "")
    return safe_name(f"{module}.{label}.{event_name(event_type)}")


def safe_name(text: str) -> str:
    """Letters, digits, `_` and `-` only: what JetStream accepts in a consumer's name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:200]


class InProcessBus:
    """Deliver events to subscribers of the same process; a failing handler never stops the others."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(
        self,
        event_type: type[E] | str,
        handler: Callable[[E], Awaitable[None]],
        *,
        name: str | None = None,
        fanout: bool = False,
    ) -> None:
        """Call `handler` for every event of a type (one process: shared and fanout are one)."""
        self._handlers[event_name(event_type)].append(handler)

    def subscribers(self, name: str) -> int:
        """How many handlers hear events of this name (not counting `ALL`)."""
        return len(self._handlers.get(name, ()))

    async def publish(self, event: Event) -> None:
        """Deliver one event to its subscribers and wait for them."""
        handlers = [*self._handlers.get(event.name, ()), *self._handlers.get(ALL, ())]
        results = await asyncio.gather(*(h(event) for h in handlers), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.error("handler for %s failed: %r", event.name, result)

    def stage(self, session: AsyncSession, event: Event) -> None:
        """Nothing to keep: an in-process bus lives and dies with the process that commits."""

    async def start(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        """Nothing to disconnect."""

    async def health(self) -> dict[str, Any]:
        """The in-process bus is always there."""
        return {
            "adapter": "in-process",
            "connected": True,
            "server": None,
            "stream": None,
            "consumers": [],
            "dead_letters": 0,
            "error": None,
        }

    async def publish_json(self, envelope: dict[str, Any] | bytes | str) -> bool:
        """Publish a serialised event (as a network bus delivers it); False if it is not valid."""
        event = decodes(envelope)
        if event is None:
            log.warning("dropped an event that is not a valid envelope: %.200r", envelope)
            return False
        await self.publish(event)
        return True


async def publish_all(bus: Bus, events: Iterable[Event]) -> None:
    """Publish events in order, after their transaction has committed."""
    for event in events:
        await bus.publish(event)


def create_bus(settings: Settings, sessions: async_sessionmaker[AsyncSession] | None = None) -> Bus:
    """The bus the settings choose: JetStream when `bus_url` is set, else in-process."""
    if not settings.bus_url:
        return InProcessBus()
    from cityops.kit.jetstream import JetStreamBus  # loads nats-py only when it is used

    return JetStreamBus.from_settings(settings, sessions)
