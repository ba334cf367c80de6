"""The outbox channel of a notifier: an outbox row's payload is a notice; its result an outcome."""

from __future__ import annotations

import httpx

from cityops.config import Settings
from cityops.kit.outbox.queue import Channel, Envelope, Outcome
from cityops.notify.base import Notice, Notifier
from cityops.notify.mp import OfficialAccountNotifier
from cityops.notify.wecom import WeComNotifier


class NotifierChannel:
    """Deliver outbox rows of one channel (`wecom`, `mp`) through a notifier."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    async def deliver(self, envelope: Envelope) -> Outcome:
        """Send the row's notice; the delivery id doubles as the channel's dedupe key."""
        try:
            notice = Notice.from_payload(envelope.payload, dedupe_key=envelope.delivery_id)
        except ValueError as exc:
            return Outcome.permanent(str(exc))
        result = await self.notifier.send(notice)
        if result.ok:
            return Outcome.delivered(result.errcode)
        if result.retryable:
            return Outcome.retry(result.error, result.errcode)
        return Outcome.permanent(result.error, result.errcode)


def wechat_channels(settings: Settings, client: httpx.AsyncClient) -> dict[str, Channel]:
    """The WeCom and official-account channels the settings enable (none by default)."""
    found: dict[str, Channel] = {}
    if settings.wecom_enabled and settings.wecom_secret is not None:
        wecom = WeComNotifier(
            client,
            base_url=settings.wecom_base_url,
            corp_id=settings.wecom_corp_id,
            secret=settings.wecom_secret.get_secret_value(),
            agent_id=settings.wecom_agent_id,
        )
        found[wecom.channel] = NotifierChannel(wecom)
    if settings.mp_enabled and settings.mp_secret is not None:
        mp = OfficialAccountNotifier(
            client,
            base_url=settings.mp_base_url,
            app_id=settings.mp_app_id,
            secret=settings.mp_secret.get_secret_value(),
        )
        found[mp.channel] = NotifierChannel(mp)
    return found
