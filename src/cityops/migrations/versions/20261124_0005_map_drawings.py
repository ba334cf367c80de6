"""map_drawing: user-drawn map features (标绘) per user or town

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityops.kit.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "map_drawing",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("style", sa.JSON(), nullable=False),
        sa.Column("org_code", sa.String(length=24), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("created_at", cityops.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cityops.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_code"],
            ["org_unit.code"],
            name=op.f("fk_map_drawing_org_code_org_unit"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["account.id"],
            name=op.f("fk_map_drawing_owner_id_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_map_drawing")),
    )
    with op.batch_alter_table("map_drawing", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_map_drawing_org_code"), ["org_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_map_drawing_owner_id"), ["owner_id"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("map_drawing", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_map_drawing_owner_id"))
        batch_op.drop_index(batch_op.f("ix_map_drawing_org_code"))
    op.drop_table("map_drawing")
