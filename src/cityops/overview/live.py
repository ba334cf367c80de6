"""Live overviews: case events drop cached parts and wake the screens watching the areas concerned.

One subscription per process to the case subjects on the bus; each open stream (SSE) is a
`Watcher` in the `Broker`'s set, removed when its client goes away. A watcher holds no queue of
events, only the subjects heard since it last spoke, so a slow or stalled screen costs a few
bytes however many events arrive: the screen is told *which parts changed* and fetches them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.sse import ServerSentEvent

from cityops.kit.db import utcnow
from cityops.kit.events import Event
from cityops.overview.cache import PartCache, areas_of
from cityops.overview.service import OverviewService

log = logging.getLogger(__name__)

#: Codes in a case event's payload that place the case (before and after a move).
PLACE_FIELDS = ("owner_code", "from_owner", "to_owner", "unit_code", "community_code", "grid_code")
#: How long a stream waits after an event for the ones that follow it (one notice per burst).
DEBOUNCE_SECONDS = 0.4
#: How often a stream checks that its session is still valid.
RECHECK_SECONDS = 60.0


@dataclass(eq=False)
class Watcher:
    """One open stream: the area it watches and what it has heard since it last spoke."""

    code: str
    parts: list[str]
    heard: set[str] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def notify(self, subject: str) -> None:
        """Remember a subject and wake the stream."""
        self.heard.add(subject)
        self.wake.set()

    def take(self) -> list[str]:
        """The subjects heard since the last call, and go back to sleep."""
        subjects = sorted(self.heard)
        self.heard.clear()
        self.wake.clear()
        return subjects


class StreamsFull(Exception):
    """The process already serves as many streams as it accepts."""


class Broker:
    """The watchers of this process and the routing of case events to them."""

    def __init__(self, max_watchers: int) -> None:
        self.max_watchers = max_watchers
        self._watchers: set[Watcher] = set()

    def __len__(self) -> int:
        return len(self._watchers)

    def watch(self, code: str, parts: list[str]) -> Watcher:
        """Register a stream for an area and the parts that events change."""
        if len(self._watchers) >= self.max_watchers:
            raise StreamsFull
        watcher = Watcher(code, parts)
        self._watchers.add(watcher)
        return watcher

    def forget(self, watcher: Watcher) -> None:
        """Remove a stream (its client went away)."""
        self._watchers.discard(watcher)

    def publish(self, areas: set[str], subject: str) -> int:
        """Wake the watchers of these areas; return how many."""
        woken = 0
        for watcher in self._watchers:
            if watcher.code in areas:
                watcher.notify(subject)
                woken += 1
        return woken


@dataclass
class OverviewRuntime:
    """The overview's per-process state: service, cache and broker."""

    service: OverviewService
    cache: PartCache
    broker: Broker
    refresh_seconds: float

    async def on_case_event(self, event: Event) -> None:
        """Drop the live parts of the areas the case lies in, and wake their screens."""
        # Attributes, not `event.payload`: that serialises the whole event on every read.
        areas = areas_of(str(getattr(event, f, None) or "") for f in PLACE_FIELDS)
        self.cache.drop_areas(areas)
        self.broker.publish(areas, event.subject)


def start_overview(app: FastAPI) -> OverviewRuntime:
    """Build the overview's state (the manifest subscribes it to the case events)."""
    state = app.state
    settings = state.settings
    cache = PartCache(settings.overview_cache_seconds)
    service = OverviewService(state.sessions, state.org_tree, cache, settings.district_code)
    runtime = OverviewRuntime(
        service, cache, Broker(settings.overview_max_streams), settings.overview_refresh_seconds
    )
    state.overview = runtime
    return runtime


def case_listener(app: FastAPI) -> Callable[[Event], Awaitable[None]]:
    """The handler of this app's overview for the case events (bound by the manifest)."""
    runtime: OverviewRuntime = app.state.overview
    return runtime.on_case_event


def _notice(code: str, parts: list[str], reason: list[str]) -> dict[str, Any]:
    return {"code": code, "parts": parts, "reason": reason, "at": utcnow().isoformat()}


async def stream(
    runtime: OverviewRuntime,
    watcher: Watcher,
    still_allowed: Callable[[], Awaitable[bool]],
) -> AsyncIterator[ServerSentEvent]:
    """The events of one screen: `change` after case events (and periodically), `end` on logout.

    The first event is a `change` of every live part, so a screen that reconnects catches up on
    what it missed while away.
    """
    loop = asyncio.get_running_loop()
    checked = loop.time()
    try:
        yield ServerSentEvent(
            event="change", data=_notice(watcher.code, watcher.parts, ["connect"]), retry=3000
        )
        while True:
            try:
                await asyncio.wait_for(watcher.wake.wait(), timeout=runtime.refresh_seconds)
                await asyncio.sleep(DEBOUNCE_SECONDS)
                reason = watcher.take()
            except TimeoutError:
                reason = ["refresh"]
            if loop.time() - checked >= RECHECK_SECONDS:
                checked = loop.time()
                if not await still_allowed():
                    yield ServerSentEvent(event="end", data={"reason": "session"})
                    return
            yield ServerSentEvent(event="change", data=_notice(watcher.code, watcher.parts, reason))
    finally:
        runtime.broker.forget(watcher)
