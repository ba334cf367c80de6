"""std_address: the standard address library (标准地址库) of the geocoder

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityops.kit.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "std_address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("norm_key", sa.String(length=255), nullable=False),
        sa.Column("unit_code", sa.String(length=24), nullable=False),
        sa.Column("community_code", sa.String(length=24), nullable=True),
        sa.Column("road", sa.String(length=64), nullable=True),
        sa.Column("lane", sa.String(length=16), nullable=True),
        sa.Column("sublane", sa.String(length=16), nullable=True),
        sa.Column("number", sa.String(length=16), nullable=True),
        sa.Column("village_group", sa.String(length=16), nullable=True),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("updated_at", cityops.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_std_address")),
        sa.UniqueConstraint("norm_key", name=op.f("uq_std_address_norm_key")),
    )
    with op.batch_alter_table("std_address", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_std_address_community_code"), ["community_code"], unique=False
        )
        batch_op.create_index("ix_std_address_unit_road", ["unit_code", "road"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("std_address", schema=None) as batch_op:
        batch_op.drop_index("ix_std_address_unit_road")
        batch_op.drop_index(batch_op.f("ix_std_address_community_code"))
    op.drop_table("std_address")
