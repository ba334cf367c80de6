"""The in-process domain-event bus: modules publish facts, others react without importing them."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from cityops.kit.db import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """A fact that happened: `subject` such as `org.divisions_imported`, and its payload."""

    subject: str
    payload: dict[str, Any]
    at: str = field(default_factory=lambda: utcnow().isoformat())


Handler = Callable[[DomainEvent], Awaitable[None]]


class InProcessBus:
    """Deliver events to subscribers of the same process; a failing handler never stops the others."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, subject: str, handler: Handler) -> None:
        """Call `handler` for every event whose subject equals `subject` (or `*` for all)."""
        self._handlers[subject].append(handler)

    async def publish(self, event: DomainEvent) -> None:
        """Deliver one event to its subscribers and wait for them."""
        handlers = [*self._handlers.get(event.subject, ()), *self._handlers.get("*", ())]
        results = await asyncio.gather(*(h(event) for h in handlers), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                log.error("handler for %s failed: %r", event.subject, result)
