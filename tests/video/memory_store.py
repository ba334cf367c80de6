"""A DeviceStore in memory: the platform role's contract, without a database, for protocol tests."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any

from cityops.video.gb28181.catalog import Catalog
from cityops.video.gb28181.manscdp import Command
from cityops.video.gb28181.store import Registration


class MemoryStore:
    """Keeps what the platform tells it; `changed` fires on every call."""

    def __init__(self) -> None:
        self.registrations: dict[str, Registration] = {}
        self.online: dict[str, bool] = {}
        self.keepalives: dict[str, datetime] = {}
        self.catalogs: dict[str, Catalog] = {}
        self.infos: dict[str, dict[str, str]] = {}
        self.alarms: list[tuple[str, Command]] = []
        self.changed = asyncio.Event()

    def _touch(self) -> None:
        self.changed.set()

    async def registered(self, registration: Registration) -> None:
        self.registrations[registration.device_id] = registration
        self.online[registration.device_id] = True
        self._touch()

    async def unregistered(self, device_id: str, at: datetime) -> None:
        self.online[device_id] = False
        self._touch()

    async def seen(self, last_keepalive: Mapping[str, datetime]) -> None:
        self.keepalives.update(last_keepalive)
        self._touch()

    async def offline(self, device_ids: list[str], at: datetime) -> None:
        for device_id in device_ids:
            self.online[device_id] = False
        self._touch()

    async def catalog(self, catalog: Catalog) -> None:
        self.catalogs[catalog.device_id] = catalog
        self._touch()

    async def device_info(self, device_id: str, fields: Mapping[str, str]) -> None:
        self.infos[device_id] = dict(fields)
        self._touch()

    async def alarm(self, device_id: str, command: Command) -> None:
        self.alarms.append((device_id, command))
        self._touch()

    async def until(self, condition: Callable[[], bool], guard: float = 60.0) -> None:
        """Wait until a condition (a callable) holds, woken by each change; hang guard `guard` s."""
        async with asyncio.timeout(guard):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body in a fresh event loop (the suite runs no asyncio plugin)."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return wrapper
