"""Tables of accounts, tokens (sessions, API keys), sign-in throttles, TOTP and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kit.db import Base, UTCDateTime, utcnow


class Account(Base):
    """A person's or a system's account; one role each, so duties stay separate (三权分立)."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32), index=True)
    org_code: Mapped[str] = mapped_column(String(24), ForeignKey("org_unit.code"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    extra_scope: Mapped[list[str]] = mapped_column(JSON, default=list)
    # System clients only: the case sources (channels) it may submit for, granted by the
    # security admin; keys of a source belong to the systems granted it (auth/sources.py).
    source_grants: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AuthToken(Base):
    """A bearer secret, stored only as its SHA-256: a login session or a system's API key."""

    __tablename__ = "auth_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "session" | "api_key"
    name: Mapped[str] = mapped_column(String(128), default="")
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    # API keys only: networks (CIDR) the key may be used from; empty means from anywhere.
    allowed_networks: Mapped[list[str]] = mapped_column(JSON, default=list)


class LoginThrottle(Base):
    """Failed sign-ins of one username from one address: the lock is per pair, not per account.

    Keyed by the name as typed, whether or not such an account exists, so a locked account
    and an unknown name answer alike; and one address cannot lock the owner out elsewhere.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("username", "client_ip"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    client_ip: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountTotp(Base):
    """An account's TOTP secret (RFC 6238), encrypted with the data key; one per account."""

    __tablename__ = "account_totp"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(Text)  # DataCipher token, context "totp:<account id>"
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_step: Mapped[int] = mapped_column(BigInteger, default=0)  # refuses a replayed code
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(Base):
    """A one-time recovery code, stored only as its SHA-256 (80 random bits each)."""

    __tablename__ = "account_recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One audited act: who, when, what, from where, with what result. Never updated."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor: Mapped[str] = mapped_column(String(64), default="")
    actor_org: Mapped[str] = mapped_column(String(24), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(128), default="")
    result: Mapped[str] = mapped_column(String(16))  # success | failure | denied
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    # The chain (auth/audit/chain.py): position, the previous entry's MAC, and this entry's
    # SM3-HMAC over both and every field above. NULL only on entries older than the chain.
    seq: Mapped[int | None] = mapped_column(BigInteger, index=True, unique=True)
    prev_mac: Mapped[str | None] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """The one row that every append locks: where the chain ends and where it starts after purges.

    `tag` is an SM3-HMAC over the other fields, so the head cannot be moved back to hide entries
    deleted from the end, nor the anchor forward to hide entries deleted from the start.
    """

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_mac: Mapped[str] = mapped_column(String(64), default="")
    anchor_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    anchor_mac: Mapped[str] = mapped_column(String(64), default="")
    anchor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tag: Mapped[str] = mapped_column(String(64), default="")
