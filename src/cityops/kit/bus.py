"""The in-process domain-event bus: modules publish typed events, others react without importing them."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from cityops.kit.events import Event, decodes

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], Awaitable[None]]
#: Subscribe with this instead of an event type to hear every event.
ALL = "*"


class Bus(Protocol):
    """What publishers and subscribers need of a bus, whichever adapter carries it."""

    def subscribe(self, event_type: type[E] | str, handler: Callable[[E], Awaitable[None]]) -> None:
        """Call `handler` for every event of a type (or of every type, with `ALL`)."""

    async def publish(self, event: Event) -> None:
        """Deliver one event to its subscribers."""


class InProcessBus:
    """Deliver events to subscribers of the same process; a failing handler never stops the others."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: type[E] | str, handler: Callable[[E], Awaitable[None]]) -> None:
        """Call `handler` for every event of a type (or of every type, with `ALL`)."""
        name = event_type if isinstance(event_type, str) else event_type.name
        if not name:
            raise TypeError(f"{event_type!r} is not a concrete event type")
        self._handlers[name].append(handler)

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
