"""drop three case_record indexes that a wider index already starts with

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-24 14:30:00

`category`, `closed_at` and `handle_due_at` each had an index of their own, and each is also
the first column of a wider one (0012, 0013): a query on the column alone uses the wider index
just as well. Every case written paid for the narrow three all the same, on each INSERT and
on each UPDATE that moves a deadline or closes a case.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Each narrow index and the wider one that starts with its column.
NARROW = {
    "ix_case_record_category": ("category", "ix_case_record_category_created"),
    "ix_case_record_closed_at": ("closed_at", "ix_case_record_closed_period"),
    "ix_case_record_handle_due_at": ("handle_due_at", "ix_case_record_due_period"),
}


def upgrade() -> None:
    """Apply this revision."""
    for name in NARROW:
        op.drop_index(name, table_name="case_record")


def downgrade() -> None:
    """Revert this revision."""
    for name, (column, _) in NARROW.items():
        op.create_index(name, "case_record", [column])
