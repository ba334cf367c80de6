"""API shapes of the outbox: messages as operators see them, and what retry/discard take."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field

from cityops.kit.outbox.models import OutboxMessage
from cityops.kit.web import NO_NUL


class OutboxMessageRead(BaseModel):
    """One outbox message; the target without its query string, openids masked."""

    id: int
    delivery_id: str
    channel: str
    topic: str
    ref: str
    owner_code: str
    target: str
    state: str
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


class OutboxPage(BaseModel):
    """A page of outbox messages."""

    items: list[OutboxMessageRead]
    total: int
    limit: int
    offset: int


class DiscardRequest(BaseModel):
    """Why a message is given up (audited)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL)


def _masked_target(target: str) -> str:
    # A receiver may put a token in its URL's query: operators see scheme, host and path.
    if not target:
        return ""
    parts = urlsplit(target)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def _mask(value: str) -> str:
    return value[:4] + "****" if len(value) > 4 else "****"


def _masked_payload(row: OutboxMessage) -> dict[str, Any]:
    payload = dict(row.payload)
    to = payload.get("to")
    if row.channel == "mp" and isinstance(to, dict):
        payload["to"] = {**to, "users": [_mask(str(u)) for u in to.get("users", [])]}
    return payload


def outbox_read(row: OutboxMessage) -> OutboxMessageRead:
    """How the API shows a message."""
    return OutboxMessageRead(
        id=row.id,
        delivery_id=row.delivery_id,
        channel=row.channel,
        topic=row.topic,
        ref=row.ref,
        owner_code=row.owner_code,
        target=_masked_target(row.target),
        state=row.state,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        next_attempt_at=row.next_attempt_at,
        last_status=row.last_status,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        delivered_at=row.delivered_at,
        payload=_masked_payload(row),
    )
