"""iot: scenario templates (versioned), instances, and scene events

Revision ID: iot0003
Revises: iot0002
Create Date: 2026-12-07 17:40:00

The scenario engine's tables. The registry's iot0002 also chains on iot0001; the two are put
in one line when both branches merge.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cityops.kit.db import UTCDateTime

revision: str = "iot0003"
down_revision: str | None = "iot0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the three tables."""
    op.create_table(
        "iot_scenario_template",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("severities", sa.JSON, nullable=False),
        sa.Column("opens_case", sa.Boolean, nullable=False),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("synthetic", sa.Boolean, nullable=False),
        sa.Column("owner_code", sa.String(24), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iot_scenario_template"),
        sa.UniqueConstraint("code", "version", name="uq_iot_scenario_template_code_version"),
    )
    op.create_index("ix_iot_scenario_template_code", "iot_scenario_template", ["code"])
    op.create_table(
        "iot_scenario_instance",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("owner_code", sa.String(24), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("template_code", sa.String(64), nullable=False),
        sa.Column("template_version", sa.Integer, nullable=False),
        sa.Column("device_ids", sa.JSON, nullable=False),
        sa.Column("profile", sa.String(64), nullable=True),
        sa.Column("overrides", sa.JSON, nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_iot_scenario_instance"),
    )
    op.create_index("ix_iot_scenario_instance_owner_code", "iot_scenario_instance", ["owner_code"])
    op.create_table(
        "iot_scene_event",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("instance_id", sa.Integer, nullable=False),
        sa.Column("template_code", sa.String(64), nullable=False),
        sa.Column("title", sa.String(80), nullable=False),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("owner_code", sa.String(24), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("fired_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("acked_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("acked_by", sa.String(64), nullable=True),
        sa.Column("cleared_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("cleared_by", sa.String(64), nullable=True),
        sa.Column("opened_case", sa.Boolean, nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["iot_scenario_instance.id"],
            name="fk_iot_scene_event_instance_id_iot_scenario_instance",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_iot_scene_event"),
    )
    op.create_index(
        "ix_iot_scene_event_open", "iot_scene_event", ["instance_id", "device_id", "status"]
    )
    op.create_index("ix_iot_scene_event_owner_code", "iot_scene_event", ["owner_code"])
    op.create_index("ix_iot_scene_event_status", "iot_scene_event", ["status"])


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("iot_scene_event")
    op.drop_table("iot_scenario_instance")
    op.drop_table("iot_scenario_template")
