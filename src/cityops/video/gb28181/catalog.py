"""Catalog aggregation: a response arrives in several MESSAGEs sharing one SN (GB/T 28181-2016
§9.5.2, A.2.6); it is complete when the items reach SumNum, or given up after a quiet timeout
(a lost UDP packet) with what came, marked incomplete.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from cityops.video.gb28181.manscdp import Command

#: Upper bound of SumNum we accept (a big lower platform; WVP users report 25,000 channels).
MAX_SUM_NUM = 200_000
#: Finished answers remembered, so a packet resent after completion is not a new catalog.
REMEMBER_DONE = 20_000


@dataclass(slots=True)
class Catalog:
    """The items of one catalog answer, by channel ID (a resent packet is counted once)."""

    device_id: str
    sn: int
    sum_num: int = 0
    items: dict[str, dict[str, str]] = field(default_factory=dict)
    complete: bool = False


class CatalogCollector:
    """Gathers the packets of catalog answers, by (device, SN)."""

    def __init__(self, quiet_timeout: float = 10.0) -> None:
        self.quiet_timeout = quiet_timeout
        self._open: dict[tuple[str, int], Catalog] = {}
        self._progress: dict[tuple[str, int], asyncio.Event] = {}
        self._done: OrderedDict[tuple[str, int], None] = OrderedDict()

    def expect(self, device_id: str, sn: int) -> None:
        """Get ready for the answer to a query we send."""
        key = (device_id, sn)
        self._open.setdefault(key, Catalog(device_id, sn))
        self._progress.setdefault(key, asyncio.Event())

    def add(self, command: Command, device_id: str) -> Catalog | None:
        """Take one packet; the catalog it belongs to, None for a late copy of a finished one."""
        key = (device_id, command.sn)
        if key in self._done:
            return None
        catalog = self._open.setdefault(key, Catalog(device_id, command.sn))
        catalog.sum_num = min(max(catalog.sum_num, command.sum_num or 0), MAX_SUM_NUM)
        for item in command.items:
            code = item.get("DeviceID", "")
            if code and (code in catalog.items or len(catalog.items) < MAX_SUM_NUM):
                catalog.items[code] = item
        catalog.complete = len(catalog.items) >= catalog.sum_num
        if catalog.complete:
            self._finish(key)
        event = self._progress.get(key)
        if event is not None:
            event.set()
        return catalog

    def _finish(self, key: tuple[str, int]) -> None:
        """Remember a finished answer; drop it unless a waiter still has to take it."""
        self._done[key] = None
        while len(self._done) > REMEMBER_DONE:
            self._done.popitem(last=False)
        if key not in self._progress:
            self._open.pop(key, None)  # nobody waits for it: the caller takes it from here

    def pending(self, device_id: str, sn: int) -> Catalog | None:
        """An answer still being gathered."""
        return self._open.get((device_id, sn))

    async def wait(self, device_id: str, sn: int) -> Catalog:
        """Wait until the answer is complete or quiet for `quiet_timeout` seconds."""
        key = (device_id, sn)
        self.expect(device_id, sn)
        event = self._progress[key]
        catalog = self._open[key]
        try:
            while not catalog.complete:
                event.clear()
                try:
                    await asyncio.wait_for(event.wait(), self.quiet_timeout)
                except TimeoutError:
                    break
        finally:
            self._progress.pop(key, None)
            self._open.pop(key, None)
            self._done[key] = None
        return catalog
