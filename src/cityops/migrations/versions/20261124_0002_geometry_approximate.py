"""org_unit.geometry_approximate: generated boundaries are marked as such

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("org_unit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "geometry_approximate", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("org_unit", schema=None) as batch_op:
        batch_op.drop_column("geometry_approximate")
