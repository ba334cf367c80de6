"""town_page and town_link: towns' own pages (R3.5) and remote link tokens (R3.4)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-24 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityops.kit.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "town_page",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=24), nullable=False),
        sa.Column("title", sa.String(length=60), nullable=False),
        sa.Column("background", sa.String(length=80), nullable=True),
        sa.Column("background_kind", sa.String(length=16), nullable=False),
        sa.Column("widgets", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", cityops.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["account.id"],
            name=op.f("fk_town_page_updated_by_id_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_town_page")),
        sa.UniqueConstraint("org_code", name=op.f("uq_town_page_org_code")),
    )
    op.create_table(
        "town_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_code", sa.String(length=24), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("issued_at", cityops.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", cityops.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", cityops.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["issued_by_id"],
            ["account.id"],
            name=op.f("fk_town_link_issued_by_id_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_town_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_town_link_token_hash")),
    )
    with op.batch_alter_table("town_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_town_link_org_code"), ["org_code"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("town_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_town_link_org_code"))
    op.drop_table("town_link")
    op.drop_table("town_page")
