"""What the case services need from the running platform, gathered once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.config import Settings
from cityops.geo.service import DivisionIndexCache
from cityops.kit.bus import InProcessBus
from cityops.kit.crypto import DataCipher, load_cipher
from cityops.kit.db import utcnow
from cityops.kit.workcal import WorkCalendar, default_calendar
from cityops.org.tree import OrgTreeCache

Clock = Callable[[], datetime]


@dataclass
class CaseEnv:
    """Settings, sessions, bus, org caches, work calendar, clock and the data cipher.

    `clock` is injectable: tests (and simulations) move time without sleeping.
    """

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    bus: InProcessBus
    tree: OrgTreeCache
    index: DivisionIndexCache
    calendar: WorkCalendar = field(default_factory=default_calendar)
    clock: Clock = utcnow
    _cipher: DataCipher | None = field(default=None, repr=False)

    def now(self) -> datetime:
        """The current time by the environment's clock (aware UTC)."""
        return self.clock()

    def cipher(self) -> DataCipher:
        """The personal-data cipher, loaded (or its key generated) on first use."""
        if self._cipher is None:
            secret = self.settings.data_key
            self._cipher = load_cipher(
                secret.get_secret_value() if secret else None, self.settings.data_key_file
            )
        return self._cipher
