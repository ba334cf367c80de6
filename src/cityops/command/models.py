"""The tables of command and dispatch: incidents, their timeline, plans, activations, orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kit.db import Base, UTCDateTime


class Incident(Base):
    """One incident (突发事件/专项调度): its type, level, area and commander; `area_code` scopes it."""

    __tablename__ = "command_incident"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)  # 1 (I, the highest) … 4 (IV)
    title: Mapped[str] = mapped_column(String(200))
    area_code: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16))
    commander: Mapped[str] = mapped_column(String(100), default="")
    source: Mapped[str] = mapped_column(String(16))  # manual, case, iot, video
    source_ref: Mapped[str] = mapped_column(String(200), default="")
    lon: Mapped[float | None] = mapped_column(default=None)
    lat: Mapped[float | None] = mapped_column(default=None)
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_by: Mapped[str] = mapped_column(String(100))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class IncidentCase(Base):
    """A case linked to an incident (the case it came from, or one attached later)."""

    __tablename__ = "command_incident_case"
    __table_args__ = (UniqueConstraint("incident_id", "case_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("command_incident.id"), index=True)
    case_id: Mapped[int] = mapped_column(Integer)


class TimelineEntry(Base):
    """One thing said or done in an incident; append-only (never updated, never deleted)."""

    __tablename__ = "command_timeline"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("command_incident.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Plan(Base):
    """One version of a contingency plan (预案); a version never changes once written."""

    __tablename__ = "command_plan"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    incident_type: Mapped[str] = mapped_column(String(32), index=True)
    title: Mapped[str] = mapped_column(String(200))
    owner_code: Mapped[str] = mapped_column(String(32))
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)  # plans.schema.PlanBody
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Activation(Base):
    """A plan version activated for an incident at a level (启动响应)."""

    __tablename__ = "command_activation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("command_incident.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("command_plan.id"))
    level: Mapped[int] = mapped_column(Integer)
    activated_by: Mapped[str] = mapped_column(String(100))
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Order(Base):
    """One order to one unit (指令); `unit_code` scopes it, `next_fire_at` is its durable timer."""

    __tablename__ = "command_order"
    __table_args__ = (Index("ix_command_order_timer", "next_fire_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("command_incident.id"), index=True)
    activation_id: Mapped[int | None] = mapped_column(Integer, default=None)
    tier: Mapped[str] = mapped_column(String(16))  # district, town, community
    unit_code: Mapped[str] = mapped_column(String(32), index=True)
    task: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    issued_by: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sign_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    complete_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    signed_by: Mapped[str] = mapped_column(String(100), default="")
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # The escalation chain (orders.escalation.Step as JSON), the next step and when it fires.
    chain: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    next_step: Mapped[int] = mapped_column(Integer, default=0)
    next_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
