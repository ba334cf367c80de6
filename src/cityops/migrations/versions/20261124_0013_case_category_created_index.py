"""an index for the twin search: open cases of one category reported in a recent window

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-24 09:00:00

Every intake looks for open cases of the same category nearby in the last hours (merge
suggestions). On `category` alone that reads every case of the category ever reported, a cost
that grows with history (3,000+ rows per category at 500,000 cases); with `created_at` beside it
the read is one short range.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_case_record_category_created", "case_record", ["category", "created_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_case_record_category_created", table_name="case_record")
