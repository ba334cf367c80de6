"""iot: registry (profiles, gateways, devices), telemetry, latest values, dead letters

Revision ID: iot0002
Revises: iot0001
Create Date: 2026-12-07 17:40:00

The base device profiles (水位计, 井盖倾斜, 烟感, 燃气, 垃圾满溢, 路灯, 电梯) are reference data
and are inserted here, as they stand at this revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityops.kit.db

revision: str = "iot0002"
down_revision: str | None = "iot0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UTC = cityops.kit.db.UTCDateTime


def upgrade() -> None:
    """Create the hub's tables and insert the base profiles."""
    profile = op.create_table(
        "iot_profile",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("telemetry", sa.JSON(), nullable=False),
        sa.Column("sources", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_iot_profile")),
    )
    op.create_table(
        "iot_gateway",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("owner_code", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("last_seen", _UTC(timezone=True), nullable=True),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_gateway")),
    )
    op.create_index(op.f("ix_iot_gateway_owner_code"), "iot_gateway", ["owner_code"])
    op.create_table(
        "iot_device",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("owner_code", sa.String(length=32), nullable=False),
        sa.Column("profile_code", sa.String(length=64), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("site", sa.String(length=128), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("gateway_id", sa.String(length=64), nullable=True),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("last_seen", _UTC(timezone=True), nullable=True),
        sa.Column("created_at", _UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_code"],
            ["iot_profile.code"],
            name=op.f("fk_iot_device_profile_code_iot_profile"),
        ),
        sa.ForeignKeyConstraint(
            ["gateway_id"], ["iot_gateway.id"], name=op.f("fk_iot_device_gateway_id_iot_gateway")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_device")),
    )
    op.create_index(op.f("ix_iot_device_owner_code"), "iot_device", ["owner_code"])
    op.create_index(op.f("ix_iot_device_profile_code"), "iot_device", ["profile_code"])
    op.create_index(op.f("ix_iot_device_gateway_id"), "iot_device", ["gateway_id"])
    op.create_table(
        "telemetry",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("ts", _UTC(timezone=True), nullable=False),
        sa.Column("value_num", sa.Float(), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.Column("received_at", _UTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "key", "ts", name=op.f("pk_telemetry")),
    )
    op.create_table(
        "telemetry_latest",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("ts", _UTC(timezone=True), nullable=False),
        sa.Column("value_num", sa.Float(), nullable=True),
        sa.Column("value_text", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("device_id", "key", name=op.f("pk_telemetry_latest")),
    )
    op.create_table(
        "iot_dead_letter",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("received_at", _UTC(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("topic", sa.String(length=256), nullable=False),
        sa.Column("owner_code", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=512), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_dead_letter")),
    )
    op.create_index("ix_iot_dead_letter_owner_id", "iot_dead_letter", ["owner_code", "id"])
    from cityops.iot.profiles import BASE_PROFILES

    op.bulk_insert(
        profile,
        [
            {"code": p.code, "name": p.name, "telemetry": p.telemetry_json(), "sources": p.sources}
            for p in BASE_PROFILES
        ],
    )


def downgrade() -> None:
    """Drop the hub's tables."""
    op.drop_index("ix_iot_dead_letter_owner_id", table_name="iot_dead_letter")
    op.drop_table("iot_dead_letter")
    op.drop_table("telemetry_latest")
    op.drop_table("telemetry")
    for name in ("gateway_id", "profile_code", "owner_code"):
        op.drop_index(op.f(f"ix_iot_device_{name}"), table_name="iot_device")
    op.drop_table("iot_device")
    op.drop_index(op.f("ix_iot_gateway_owner_code"), table_name="iot_gateway")
    op.drop_table("iot_gateway")
    op.drop_table("iot_profile")
