"""Pushing an order's notices to people: behind one interface, through the outbox channels.

The next session's bulletins (SMS, phone, digital trunking) plug in here as further pushers;
today WeCom carries them when it is enabled and the unit has recipients configured.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from cityops.config import Settings
from cityops.kit.outbox.queue import enqueue
from cityops.notify.base import Notice, Recipients

WECOM = "wecom"


class Pusher(Protocol):
    """Send a notice about an order to the people of a unit, inside the caller's transaction."""

    def push(
        self, session: AsyncSession, *, unit: str, title: str, body: str, ref: str, now: datetime
    ) -> bool:
        """Write the notice; True when some channel will carry it."""


class OutboxPusher:
    """WeCom notices through the outbox when enabled and the unit has recipients."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def push(
        self, session: AsyncSession, *, unit: str, title: str, body: str, ref: str, now: datetime
    ) -> bool:
        """Enqueue a WeCom notice to the unit's configured recipients."""
        who = self.settings.wecom_recipients.get(unit)
        if not self.settings.wecom_enabled or who is None:
            return False
        notice = Notice(Recipients(tuple(who.users), tuple(who.parties)), title, body)
        enqueue(
            session,
            channel=WECOM,
            topic="wecom.command",
            payload=notice.to_payload(),
            owner_code=unit,
            ref=ref,
            now=now,
            max_attempts=self.settings.outbox_max_attempts,
        )
        return True
