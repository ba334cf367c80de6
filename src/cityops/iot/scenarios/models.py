"""Tables of the scenario engine: templates (versioned), instances, and scene events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cityops.kit.db import Base, UTCDateTime, utcnow


class ScenarioTemplate(Base):
    """One version of a district-authored scenario; a new version is a new row."""

    __tablename__ = "iot_scenario_template"
    __table_args__ = (
        UniqueConstraint("code", "version", name="uq_iot_scenario_template_code_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # name → ParamSpec as JSON
    severities: Mapped[list[str]] = mapped_column(JSON)  # per level, first line first
    opens_case: Mapped[bool] = mapped_column(Boolean, default=False)
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")  # the standard a value comes from
    synthetic: Mapped[bool] = mapped_column(Boolean, default=True)  # demo values, labelled
    owner_code: Mapped[str] = mapped_column(String(24))  # the district that authored it
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScenarioInstance(Base):
    """A town's (or the district's) running copy of one template version, on its devices."""

    __tablename__ = "iot_scenario_instance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_code: Mapped[str] = mapped_column(String(24), index=True)
    name: Mapped[str] = mapped_column(String(80))
    template_code: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[int] = mapped_column(Integer)  # pinned: upgrades are explicit
    device_ids: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: by profile
    profile: Mapped[str | None] = mapped_column(String(64), nullable=True)
    overrides: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # defaults + overrides, checked
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str] = mapped_column(Text, default="")  # set by the circuit breaker
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SceneEventRow(Base):
    """A firing: active → acknowledged → cleared, one open row per (instance, device)."""

    __tablename__ = "iot_scene_event"
    __table_args__ = (Index("ix_iot_scene_event_open", "instance_id", "device_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("iot_scenario_instance.id", ondelete="CASCADE")
    )
    template_code: Mapped[str] = mapped_column(String(64))  # the event's type
    title: Mapped[str] = mapped_column(String(80))
    device_id: Mapped[str] = mapped_column(String(128))
    owner_code: Mapped[str] = mapped_column(String(24), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), index=True)  # active, acknowledged, cleared
    value: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the reading's time
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cleared_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # None: the engine
    opened_case: Mapped[bool] = mapped_column(Boolean, default=False)  # a SceneEvent was staged

    @property
    def case_key(self) -> str | None:
        """The source key of the case it opened (the firing's id), if it opened one."""
        return f"iot-scene-{self.id}" if self.opened_case else None
