"""video: open the video hub's branch with the registry (devices, channels)

Revision ID: video0001
Revises:
Create Date: 2026-12-07 17:30:00

The video hub's tables migrate on a branch of their own, after the foundation (0001).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cityops.kit.db import UTCDateTime

revision: str = "video0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("video",)
depends_on: str | Sequence[str] | None = "0001"


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the device and channel tables."""
    op.create_table(
        "video_device",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("device_id", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("manufacturer", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("firmware", sa.String(64), nullable=False),
        sa.Column("owner_code", sa.String(24), nullable=False),
        sa.Column("civil_code", sa.String(8), nullable=False),
        sa.Column("transport", sa.String(3), nullable=False),
        sa.Column("host", sa.String(64), nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("expires", sa.Integer, nullable=False),
        sa.Column("user_agent", sa.String(128), nullable=False),
        sa.Column("online", sa.Boolean, nullable=False),
        _when("registered_at", nullable=False),
        _when("last_keepalive"),
        _when("offline_at"),
        sa.Column("channel_count", sa.Integer, nullable=False),
        sa.Column("catalog_complete", sa.Boolean, nullable=False),
        _when("catalog_at"),
        sa.Column("synthetic", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_video_device"),
        sa.UniqueConstraint("device_id", name="uq_video_device_device_id"),
    )
    op.create_index("ix_video_device_owner_code", "video_device", ["owner_code"])
    op.create_table(
        "video_channel",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("device_pk", sa.Integer, nullable=False),
        sa.Column("channel_id", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("manufacturer", sa.String(64), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("civil_code", sa.String(8), nullable=False),
        sa.Column("parent_id", sa.String(64), nullable=False),
        sa.Column("business_group_id", sa.String(20), nullable=False),
        sa.Column("address", sa.String(256), nullable=False),
        sa.Column("parental", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("longitude", sa.Float, nullable=True),
        sa.Column("latitude", sa.Float, nullable=True),
        sa.Column("owner_code", sa.String(24), nullable=False),
        _when("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["device_pk"],
            ["video_device.id"],
            name="fk_video_channel_device_pk_video_device",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_video_channel"),
        sa.UniqueConstraint("device_pk", "channel_id", name="uq_video_channel_device_pk"),
    )
    op.create_index("ix_video_channel_device_pk", "video_channel", ["device_pk"])
    op.create_index("ix_video_channel_channel_id", "video_channel", ["channel_id"])
    op.create_index("ix_video_channel_civil_code", "video_channel", ["civil_code"])
    op.create_index("ix_video_channel_owner_code", "video_channel", ["owner_code"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("video_channel")
    op.drop_table("video_device")
