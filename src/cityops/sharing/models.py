"""Tables of sharing (分层共享): applications, the grants approval creates, and every access."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kit.db import Base, UTCDateTime, utcnow


class ShareApplication(Base):
    """A unit's application (共享申请) for another owner's resources: one row, its whole life."""

    __tablename__ = "share_application"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    resource_ids: Mapped[list[str]] = mapped_column(JSON)
    keys: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # None: every key
    data_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    data_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    purpose: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    grantee_code: Mapped[str] = mapped_column(String(24), index=True)
    owner_code: Mapped[str] = mapped_column(String(24), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    applicant: Mapped[str] = mapped_column(String(64))
    applicant_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="SET NULL"), nullable=True
    )
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # of a reject or revoke


class ShareGrant(Base):
    """One resource granted to a unit by an approved application; revocable, and it expires."""

    __tablename__ = "share_grant"
    # The read path's one question: which live grants of this kind does this unit hold.
    __table_args__ = (Index("ix_share_grant_lookup", "grantee_code", "kind", "resource_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("share_application.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(String(64))
    grantee_code: Mapped[str] = mapped_column(String(24))
    owner_code: Mapped[str] = mapped_column(String(24), index=True)
    keys: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    data_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    data_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ShareAccess(Base):
    """One access through a grant (共享访问记录): who, what, how many items, when."""

    __tablename__ = "share_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(
        ForeignKey("share_grant.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    count: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
