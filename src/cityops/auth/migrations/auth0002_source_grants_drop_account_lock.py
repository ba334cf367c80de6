"""auth: account → source grants; the account's stale lock columns go

The sign-in throttle (login_throttle, auth0001) replaced `account.failed_logins` and
`account.locked_until`: nothing wrote them any more, yet account views showed them. They are
dropped; account views show the throttle's locks instead.

Revision ID: auth0002
Revises: auth0001
Create Date: 2026-12-07 17:30:00

No grant is backfilled: after the upgrade a system client submits for a source only once the
security admin grants it (`cityops user sources NAME hotline_12345`), so a key that could
squat on another system's numbers before cannot do so after.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cityops.kit.db import UTCDateTime

revision: str = "auth0002"
down_revision: str | None = "auth0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.add_column(
        "account",
        sa.Column("source_grants", sa.JSON, nullable=False, server_default=sa.text("'[]'")),
    )
    with op.batch_alter_table("account") as batch:
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("account") as batch:
        batch.drop_column("source_grants")
        batch.add_column(
            sa.Column("failed_logins", sa.Integer, nullable=False, server_default=sa.text("0"))
        )
        batch.add_column(sa.Column("locked_until", UTCDateTime(timezone=True), nullable=True))
