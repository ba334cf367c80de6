"""media_photo: uploaded photos (content-addressed files) and who uploaded them

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityops.kit.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "media_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("thumb_bytes", sa.Integer(), nullable=False),
        sa.Column("uploader_id", sa.Integer(), nullable=True),
        sa.Column("uploader", sa.String(length=64), nullable=False),
        sa.Column("org_code", sa.String(length=24), nullable=False),
        sa.Column("created_at", cityops.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploader_id"],
            ["account.id"],
            name=op.f("fk_media_photo_uploader_id_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_photo")),
    )
    with op.batch_alter_table("media_photo", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_media_photo_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_media_photo_org_code"), ["org_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_media_photo_uploader_id"), ["uploader_id"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("media_photo", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_media_photo_uploader_id"))
        batch_op.drop_index(batch_op.f("ix_media_photo_org_code"))
        batch_op.drop_index(batch_op.f("ix_media_photo_sha256"))
    op.drop_table("media_photo")
