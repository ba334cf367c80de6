"""covering indexes for the overview's 30-day closing figures

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-24 08:45:00

The overview counts, per area, the cases due and closed in the last 30 days. With a year of
cases (500,000 in the benchmark) those ranges hold ~40,000 rows each; indexes that carry the
columns the counts read let both databases answer from the index alone.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index(
        "ix_case_record_closed_period",
        "case_record",
        ["closed_at", "owner_code", "handling_hours"],
    )
    op.create_index(
        "ix_case_record_due_period",
        "case_record",
        ["handle_due_at", "owner_code", "closed_at", "handled_at"],
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_case_record_due_period", table_name="case_record")
    op.drop_index("ix_case_record_closed_period", table_name="case_record")
