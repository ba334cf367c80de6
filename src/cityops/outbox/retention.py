"""Retention of notice recipients: openids and WeCom user ids leave the outbox after delivery.

A delivered (or discarded) WeCom or official-account notice needs its recipients no more, yet
the row stays for the operators' record. After `CITYOPS_NOTICE_RECIPIENT_RETENTION_DAYS` the
life-cycle job masks them (`oAbc****wxyz`) and marks the row, so it cannot be retried to a
masked address (the retry answers 409).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cityops.config import Settings
from cityops.kit.outbox.models import OutboxMessage, OutboxState
from cityops.kit.retention import RetentionRule

#: Channels whose payload names people (`to.users`): WeCom user ids, official-account openids.
PERSON_CHANNELS = ("wecom", "mp")
#: Outbox states after which nobody sends the row again (unless an operator retries it).
SETTLED = (OutboxState.DELIVERED.value, OutboxState.DISCARDED.value)
#: The payload key that marks a row whose recipients were masked.
MASKED = "recipients_masked"
BATCH = 500


def mask_recipient(value: str) -> str:
    """Keep enough to tell recipients apart in an investigation, not enough to reach them."""
    return f"{value[:4]}****{value[-4:]}" if len(value) > 8 else "****"


def masked_payload(payload: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The payload with its recipients masked and the mark set."""
    to = dict(payload.get("to") or {})
    to["users"] = [mask_recipient(str(u)) for u in to.get("users", ())]
    return {**payload, "to": to, MASKED: at.isoformat()}


async def mask_settled_recipients(
    session: AsyncSession, settings: Settings, now: datetime
) -> list[str]:
    """Mask the recipients of settled person notices older than their retention; their ids."""
    before = now - timedelta(days=settings.notice_recipient_retention_days)
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.channel.in_(PERSON_CHANNELS),
            OutboxMessage.state.in_(SETTLED),
            OutboxMessage.updated_at <= before,
            OutboxMessage.payload[MASKED].as_string().is_(None),
        )
        .order_by(OutboxMessage.id)
        .limit(BATCH)
    )
    rows = list(await session.scalars(stmt))
    for row in rows:
        row.payload = masked_payload(row.payload, now)
    await session.flush()
    return [str(row.id) for row in rows]


def is_masked(row: OutboxMessage) -> bool:
    """Whether the row's recipients were masked (it can no longer be sent)."""
    return MASKED in (row.payload or {})


RECIPIENTS_RULE = RetentionRule(
    name="outbox.recipients",
    data_class="personal",
    what="屏蔽已送达或已放弃的企业微信、公众号通知中的接收人标识（openid、userid）",
    step=mask_settled_recipients,
)
