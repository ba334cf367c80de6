"""The outbox channel of a notifier: an outbox row's payload is a notice; its result an outcome."""

from __future__ import annotations

from cityops.kit.outbox.queue import Envelope, Outcome
from cityops.notify.base import Notice, Notifier


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
