"""The transactional outbox table: messages written with the change that caused them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kit.db import Base, UTCDateTime


class OutboxState(StrEnum):
    """Life of an outbox message."""

    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a dispatcher until `lease_until`
    DELIVERED = "delivered"  # the receiver accepted it
    FAILED = "failed"  # dead: out of attempts or refused for good; an operator may retry it
    DISCARDED = "discarded"  # given up by an operator; no longer blocks its ordering key


#: States that hold back later messages of the same ordering key.
BLOCKING = (OutboxState.PENDING, OutboxState.SENDING, OutboxState.FAILED)


class OutboxMessage(Base):
    """One message to deliver to the outside: a signed webhook, a WeCom or WeChat notice."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_state_next", "state", "next_attempt_at"),
        Index("ix_outbox_message_key_id", "ordering_key", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)  # the receiver dedupes on it
    channel: Mapped[str] = mapped_column(String(16))  # webhook | wecom | mp
    topic: Mapped[str] = mapped_column(String(48), index=True)  # e.g. hotline.sign
    ordering_key: Mapped[str | None] = mapped_column(String(96))  # delivered in id order per key
    ref: Mapped[str] = mapped_column(String(64), index=True)  # what it is about, e.g. case:17
    owner_code: Mapped[str] = mapped_column(String(24), index=True)  # the data-scope code
    target: Mapped[str] = mapped_column(Text, default="")  # a URL for webhooks
    secret_ref: Mapped[str | None] = mapped_column(String(96))  # names the signing secret
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim: Mapped[str | None] = mapped_column(String(36))  # the claim that holds the lease
    last_status: Mapped[int | None] = mapped_column(Integer)  # HTTP status or WeChat errcode
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
