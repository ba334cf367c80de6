"""Tables of the event flow: cases, their timeline, SLA timers, extensions and routing rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kit.db import Base, UTCDateTime


class CaseRecord(Base):
    """One case (案件): where, what, who owns it now, and where it stands in the workflow."""

    __tablename__ = "case_record"
    __table_args__ = (
        UniqueConstraint("source", "source_key"),
        Index("ix_case_record_status_owner", "status", "owner_code"),
        # Covering the overview's 30-day closing figures (migration 0012).
        Index("ix_case_record_closed_period", "closed_at", "owner_code", "handling_hours"),
        Index(
            "ix_case_record_due_period", "handle_due_at", "owner_code", "closed_at", "handled_at"
        ),
        # The twin search: one category within a recent window (migration 0013).
        Index("ix_case_record_category_created", "category", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(32))
    source_key: Mapped[str | None] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(32))  # "component:0101"; indexed with created_at
    component_id: Mapped[str | None] = mapped_column(String(16), index=True)  # 部件标识码
    text: Mapped[str] = mapped_column(Text)
    lon: Mapped[float | None] = mapped_column(Float)  # WGS84/CGCS2000
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(256), default="")
    unit_code: Mapped[str | None] = mapped_column(String(24))
    community_code: Mapped[str | None] = mapped_column(String(24))
    grid_code: Mapped[str | None] = mapped_column(String(24))
    multigrid_code: Mapped[str | None] = mapped_column(String(24))
    owner_code: Mapped[str] = mapped_column(String(24), index=True)  # the data-scope code
    loop_level: Mapped[str] = mapped_column(String(16), index=True)  # 闭环层级
    status: Mapped[str] = mapped_column(String(16))
    suspended_from: Mapped[str | None] = mapped_column(String(16))
    department_key: Mapped[str | None] = mapped_column(String(32))  # routed default
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    escalate_on_breach: Mapped[bool] = mapped_column(Boolean, default=False)
    rule_id: Mapped[int | None] = mapped_column(Integer)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_record.id", ondelete="SET NULL"), index=True
    )
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    photos: Mapped[list[str]] = mapped_column(JSON, default=list)
    reporter_name_masked: Mapped[str | None] = mapped_column(String(64))
    reporter_phone_masked: Mapped[str | None] = mapped_column(String(32))
    reporter_email_masked: Mapped[str | None] = mapped_column(String(128))
    reporter_contact_enc: Mapped[str | None] = mapped_column(Text)  # kit.crypto token
    returns: Mapped[int] = mapped_column(Integer, default=0)  # 退单次数
    reworks: Mapped[int] = mapped_column(Integer, default=0)  # 返工次数
    overdue: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    supervision: Mapped[str | None] = mapped_column(String(16))  # urge | supervise | listed
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    handling_hours: Mapped[float | None] = mapped_column(Float)  # working hours 立案 → 办结
    created_by_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # ix_case_record_closed_period
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sign_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handle_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # …_due_period

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own mapping


class CaseEvent(Base):
    """One step of a case's timeline (案件流转记录): append-only, the audit trail of its states."""

    __tablename__ = "case_event"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    loop_level: Mapped[str] = mapped_column(String(16))
    owner_code: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64), default="")
    actor_org: Mapped[str] = mapped_column(String(24), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CaseTimer(Base):
    """An SLA deadline of a case (sign-for or handle), fired by the scheduler exactly once."""

    __tablename__ = "case_timer"
    __table_args__ = (
        UniqueConstraint("case_id", "kind"),
        Index("ix_case_timer_state_warn", "state", "warn_at"),
        Index("ix_case_timer_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # sign | handle
    state: Mapped[str] = mapped_column(String(16))  # pending | warned | breached | done | paused
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the breach fired
    paused_state: Mapped[str | None] = mapped_column(String(16))
    paused_due_s: Mapped[float | None] = mapped_column(Float)  # working seconds left to due
    paused_warn_s: Mapped[float | None] = mapped_column(Float)  # … and to the warning


class CaseExtension(Base):
    """A request to extend the handle deadline (延期申请) and its decision."""

    __tablename__ = "case_extension"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_record.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16))  # pending | approved | rejected
    hours: Mapped[float | None] = mapped_column(Float)
    days: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[str] = mapped_column(String(64), default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    previous_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RoutingRule(Base):
    """An editable routing override: category and/or unit prefix → department, loop, policy."""

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_code: Mapped[str] = mapped_column(String(24), index=True)  # the data-scope code
    category: Mapped[str | None] = mapped_column(String(32))
    unit_prefix: Mapped[str | None] = mapped_column(String(24))
    department_key: Mapped[str | None] = mapped_column(String(32))
    loop_level: Mapped[str | None] = mapped_column(String(16))
    escalate_on_breach: Mapped[bool | None] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
