"""command: incidents, their timeline, contingency plans, activations and orders

Revision ID: cmd0001
Revises:
Create Date: 2026-12-07 18:00:00

Command and dispatch (R9) migrates on a branch of its own, after the foundation (0001). Orders
carry their escalation timer (`next_fire_at`, indexed): the scheduler's passes read it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cityops.kit.db import UTCDateTime

revision: str = "cmd0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("command",)
depends_on: str | Sequence[str] | None = "0001"


def upgrade() -> None:
    """Create the command tables."""
    op.create_table(
        "command_incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("area_code", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("commander", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=False),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("opened_by", sa.String(length=100), nullable=False),
        sa.Column("opened_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_command_incident")),
        sa.UniqueConstraint("number", name=op.f("uq_command_incident_number")),
    )
    op.create_index(
        op.f("ix_command_incident_area_code"), "command_incident", ["area_code"], unique=False
    )
    op.create_table(
        "command_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("incident_type", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner_code", sa.String(length=32), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_command_plan")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_command_plan_code")),
    )
    op.create_index(
        op.f("ix_command_plan_incident_type"), "command_plan", ["incident_type"], unique=False
    )
    op.create_table(
        "command_activation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("activated_by", sa.String(length=100), nullable=False),
        sa.Column("activated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["command_incident.id"],
            name=op.f("fk_command_activation_incident_id_command_incident"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["command_plan.id"],
            name=op.f("fk_command_activation_plan_id_command_plan"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_command_activation")),
    )
    op.create_index(
        op.f("ix_command_activation_incident_id"),
        "command_activation",
        ["incident_id"],
        unique=False,
    )
    op.create_table(
        "command_incident_case",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["command_incident.id"],
            name=op.f("fk_command_incident_case_incident_id_command_incident"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_command_incident_case")),
        sa.UniqueConstraint(
            "incident_id", "case_id", name=op.f("uq_command_incident_case_incident_id")
        ),
    )
    op.create_index(
        op.f("ix_command_incident_case_incident_id"),
        "command_incident_case",
        ["incident_id"],
        unique=False,
    )
    op.create_table(
        "command_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("activation_id", sa.Integer(), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("unit_code", sa.String(length=32), nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("issued_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("sign_due_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("complete_due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("signed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("signed_by", sa.String(length=100), nullable=False),
        sa.Column("completed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("chain", sa.JSON(), nullable=False),
        sa.Column("next_step", sa.Integer(), nullable=False),
        sa.Column("next_fire_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["command_incident.id"],
            name=op.f("fk_command_order_incident_id_command_incident"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_command_order")),
    )
    op.create_index(
        op.f("ix_command_order_incident_id"), "command_order", ["incident_id"], unique=False
    )
    op.create_index("ix_command_order_timer", "command_order", ["next_fire_at"], unique=False)
    op.create_index(
        op.f("ix_command_order_unit_code"), "command_order", ["unit_code"], unique=False
    )
    op.create_table(
        "command_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["command_incident.id"],
            name=op.f("fk_command_timeline_incident_id_command_incident"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_command_timeline")),
    )
    op.create_index(
        op.f("ix_command_timeline_incident_id"), "command_timeline", ["incident_id"], unique=False
    )
    op.create_index(
        op.f("ix_command_timeline_order_id"), "command_timeline", ["order_id"], unique=False
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_index(op.f("ix_command_timeline_order_id"), table_name="command_timeline")
    op.drop_index(op.f("ix_command_timeline_incident_id"), table_name="command_timeline")
    op.drop_table("command_timeline")
    op.drop_index(op.f("ix_command_order_unit_code"), table_name="command_order")
    op.drop_index("ix_command_order_timer", table_name="command_order")
    op.drop_index(op.f("ix_command_order_incident_id"), table_name="command_order")
    op.drop_table("command_order")
    op.drop_index(op.f("ix_command_incident_case_incident_id"), table_name="command_incident_case")
    op.drop_table("command_incident_case")
    op.drop_index(op.f("ix_command_activation_incident_id"), table_name="command_activation")
    op.drop_table("command_activation")
    op.drop_index(op.f("ix_command_plan_incident_type"), table_name="command_plan")
    op.drop_table("command_plan")
    op.drop_index(op.f("ix_command_incident_area_code"), table_name="command_incident")
    op.drop_table("command_incident")
