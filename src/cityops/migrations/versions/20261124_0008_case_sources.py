"""case_record: component_id (部件标识码) and the reporter's masked email, for the case sources

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the two nullable columns and the component index (plain ALTER on both backends)."""
    op.add_column("case_record", sa.Column("component_id", sa.String(length=16), nullable=True))
    op.add_column(
        "case_record", sa.Column("reporter_email_masked", sa.String(length=128), nullable=True)
    )
    op.create_index("ix_case_record_component_id", "case_record", ["component_id"])


def downgrade() -> None:
    """Drop them again (SQLite ≥ 3.35 drops columns in place: no table copy, no cascades)."""
    op.drop_index("ix_case_record_component_id", table_name="case_record")
    op.drop_column("case_record", "reporter_email_masked")
    op.drop_column("case_record", "component_id")
