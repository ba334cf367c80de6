"""audit chain: seq, prev_mac and mac on audit_log, and the audit_chain head row

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 14:00:00

Entries written before this revision keep NULL in the new columns: the verifier reports them as
older than the chain. Plain ADD COLUMN (not a batch copy) keeps SQLite's append-only triggers.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cityops.kit.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the chain columns and the head row (empty until the first sealed append)."""
    op.add_column("audit_log", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("audit_log", sa.Column("prev_mac", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("mac", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_audit_log_seq"), "audit_log", ["seq"], unique=True)
    head = op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_mac", sa.String(length=64), nullable=False),
        sa.Column("anchor_seq", sa.BigInteger(), nullable=False),
        sa.Column("anchor_mac", sa.String(length=64), nullable=False),
        sa.Column("anchor_at", cityops.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )
    op.bulk_insert(
        head,
        [dict(id=1, last_seq=0, last_mac="", anchor_seq=0, anchor_mac="", tag="")],
    )


def downgrade() -> None:
    """Drop the head row's table and the chain columns."""
    op.drop_table("audit_chain")
    op.drop_index(op.f("ix_audit_log_seq"), table_name="audit_log")
    for column in ("mac", "prev_mac", "seq"):
        op.drop_column("audit_log", column)
