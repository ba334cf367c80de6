"""What the case services need from the running platform, gathered once per process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cityops.cases.flow.rule_cache import RuleCache
from cityops.cases.models import CaseEvent, CaseRecord
from cityops.config import Settings
from cityops.geo.service import DivisionIndexCache
from cityops.kit.bus import Bus
from cityops.kit.crypto import DataCipher, load_cipher
from cityops.kit.db import utcnow
from cityops.kit.module import ExtensionPoint
from cityops.kit.workcal import WorkCalendar, default_calendar
from cityops.org.tree import OrgTreeCache

Clock = Callable[[], datetime]
#: Called for every timeline entry inside its transaction (e.g. to write outbox rows): what
#: it adds commits with the step or not at all. A hook that raises refuses the step.
#: The first argument is the `CaseService` of the step (typed loosely: the service imports this).
TimelineHook = Callable[[Any, CaseRecord, CaseEvent], Awaitable[None]]
#: Where modules plug their timeline hooks in (12345 callbacks, WeChat notices): by manifest.
TIMELINE_HOOKS: ExtensionPoint[TimelineHook] = ExtensionPoint("cases.timeline_hooks")


@dataclass
class CaseEnv:
    """Settings, sessions, bus, org and rule caches, work calendar, clock, cipher and hooks.

    `clock` is injectable: tests (and simulations) move time without sleeping. `hooks` see
    every timeline entry in its transaction (modules contribute them to `TIMELINE_HOOKS`).
    """

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    bus: Bus
    tree: OrgTreeCache
    index: DivisionIndexCache
    calendar: WorkCalendar = field(default_factory=default_calendar)
    clock: Clock = utcnow
    hooks: list[TimelineHook] = field(default_factory=list)
    rules: RuleCache = field(default_factory=RuleCache)
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
