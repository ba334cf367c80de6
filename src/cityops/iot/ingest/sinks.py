"""Stored batches to every registered ReadingSink, each behind its own queue and task.

A sink that raises, hangs or falls behind loses only its own batches (counted), never delays
the ingest or another sink: ThingsBoard's most common complaint is one rule node stalling all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from cityops.iot.readings import Reading, ReadingSink

log = logging.getLogger(__name__)

#: Batches a sink may have waiting before newer ones are dropped for it.
SINK_QUEUE = 256
#: How long one `feed` call may take before the sink is moved on (the batch is dropped for it).
FEED_TIMEOUT = 5.0


class SinkLane:
    """One sink's queue and the task that feeds it."""

    def __init__(self, sink: ReadingSink) -> None:
        self.sink = sink
        self.queue: asyncio.Queue[Sequence[Reading]] = asyncio.Queue(SINK_QUEUE)
        self.dropped = 0
        self.failed = 0
        self.fed = 0
        self.task: asyncio.Task[None] | None = None

    def offer(self, batch: Sequence[Reading]) -> None:
        """Queue a batch, or drop it for this sink when it is full."""
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())
        try:
            self.queue.put_nowait(batch)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _run(self) -> None:
        while True:
            batch = await self.queue.get()
            try:
                await asyncio.wait_for(self.sink.feed(batch), FEED_TIMEOUT)
                self.fed += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # a sink's failure is its own: log, count and go on
                self.failed += 1
                log.exception("iot sink %r failed on a batch", self.sink)


class SinkHub:
    """Every sink registered on an app (app.state.iot_sinks), fed after each commit."""

    def __init__(self, sinks: list[ReadingSink]) -> None:
        self.sinks = sinks
        self._lanes: dict[int, SinkLane] = {}

    def feed_all(self, batch: Sequence[Reading]) -> None:
        """Offer a stored batch to every sink; returns at once."""
        if not batch:
            return
        for sink in list(self.sinks):
            lane = self._lanes.get(id(sink))
            if lane is None:
                lane = self._lanes[id(sink)] = SinkLane(sink)
            lane.offer(batch)

    def stats(self) -> dict[str, dict[str, int]]:
        """Per sink: batches fed, failed and dropped."""
        return {
            repr(lane.sink): {"fed": lane.fed, "failed": lane.failed, "dropped": lane.dropped}
            for lane in self._lanes.values()
        }

    async def close(self) -> None:
        """Stop the sinks' tasks."""
        for lane in self._lanes.values():
            if lane.task is not None:
                lane.task.cancel()
        for lane in self._lanes.values():
            if lane.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.task


def register_sink(app: Any, sink: ReadingSink) -> None:
    """Hand every stored batch of this app to `sink` from now on (scenarios register one)."""
    sinks: list[ReadingSink] | None = getattr(app.state, "iot_sinks", None)
    if sinks is None:
        sinks = app.state.iot_sinks = []
    sinks.append(sink)
