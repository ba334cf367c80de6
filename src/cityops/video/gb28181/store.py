"""What the platform role needs of storage: the registry implements it, tests may too."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from cityops.video.gb28181.catalog import Catalog
from cityops.video.gb28181.manscdp import Command


@dataclass(frozen=True, slots=True)
class Registration:
    """A device or lower platform that registered (GB/T 28181-2016 §9.1)."""

    device_id: str
    transport: str  # udp | tcp
    host: str
    port: int
    expires: int
    user_agent: str
    at: datetime


class DeviceStore(Protocol):
    """Where registrations, keepalives, catalogs and alarms go; each call is one unit of work."""

    async def registered(self, registration: Registration) -> None:
        """A device registered or refreshed its registration (it is online)."""

    async def unregistered(self, device_id: str, at: datetime) -> None:
        """A device unregistered (Expires: 0): it is offline."""

    async def seen(self, last_keepalive: Mapping[str, datetime]) -> None:
        """Keepalives received since the last sweep: the latest per device."""

    async def offline(self, device_ids: list[str], at: datetime) -> None:
        """Devices that missed three keepalives or whose registration expired."""

    async def catalog(self, catalog: Catalog) -> None:
        """A catalog answer, complete or given up after a lost packet."""

    async def device_info(self, device_id: str, fields: Mapping[str, str]) -> None:
        """A DeviceInfo answer (name, manufacturer, model, firmware, channel count)."""

    async def alarm(self, device_id: str, command: Command) -> None:
        """An alarm notification (A.2.5.4): the store stages a VideoAlarm on the bus."""
