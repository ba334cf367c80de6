"""Citizens who follow their case on the WeChat official account: openids, encrypted at rest."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from cityops.cases.models import CaseRecord
from cityops.kit.crypto import DataCipher
from cityops.kit.db import Base, UTCDateTime

MP = "mp"  # the official-account channel


class CaseSubscriber(Base):
    """A recipient of a case's news on one channel (an official-account openid)."""

    __tablename__ = "case_subscriber"
    __table_args__ = (UniqueConstraint("case_id", "channel", "recipient_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_record.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    recipient_hash: Mapped[str] = mapped_column(String(64))  # SHA-256, to refuse twins
    recipient_enc: Mapped[str] = mapped_column(Text)  # kit.crypto token
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _context(case_id: int, channel: str) -> str:
    # Bound to the case: a token copied onto another case does not decrypt.
    return f"case_subscriber:{case_id}:{channel}"


def _digest(recipient: str) -> str:
    return hashlib.sha256(recipient.encode("utf-8")).hexdigest()


async def subscribe(
    session: AsyncSession,
    case: CaseRecord,
    channel: str,
    recipient: str,
    cipher: DataCipher,
    now: datetime,
) -> bool:
    """Add a recipient to a case; False when it was already there."""
    digest = _digest(recipient)
    stmt = select(CaseSubscriber.id).where(
        CaseSubscriber.case_id == case.id,
        CaseSubscriber.channel == channel,
        CaseSubscriber.recipient_hash == digest,
    )
    if await session.scalar(stmt) is not None:
        return False
    session.add(
        CaseSubscriber(
            case_id=case.id,
            channel=channel,
            recipient_hash=digest,
            recipient_enc=cipher.encrypt(recipient, _context(case.id, channel)),
            created_at=now,
        )
    )
    await session.flush()
    return True


async def recipients(
    session: AsyncSession, case_id: int, channel: str, cipher: DataCipher
) -> list[str]:
    """The decrypted recipients of a case on one channel, oldest first."""
    stmt = (
        select(CaseSubscriber.recipient_enc)
        .where(CaseSubscriber.case_id == case_id, CaseSubscriber.channel == channel)
        .order_by(CaseSubscriber.id)
    )
    tokens = (await session.scalars(stmt)).all()
    return [cipher.decrypt(token, _context(case_id, channel)) for token in tokens]
