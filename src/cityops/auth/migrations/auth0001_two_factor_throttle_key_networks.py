"""auth: sign-in throttle per (username, address), TOTP secrets, recovery codes, key networks

Revision ID: auth0001
Revises:
Create Date: 2026-12-07 14:20:00

The auth module's own branch: its first tables came with the foundation (0001), so the branch
depends on that revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cityops.kit.db import UTCDateTime

revision: str = "auth0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("auth",)
depends_on: str | Sequence[str] | None = "0001"


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("client_ip", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_start", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_failure_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_login_throttle"),
        sa.UniqueConstraint("username", "client_ip", name="uq_login_throttle_username"),
    )
    op.create_index("ix_login_throttle_username", "login_throttle", ["username"])
    op.create_index("ix_login_throttle_last_failure_at", "login_throttle", ["last_failure_at"])
    op.create_table(
        "account_totp",
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("confirmed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name="fk_account_totp_account_id_account",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name="pk_account_totp"),
    )
    op.create_table(
        "account_recovery_code",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name="fk_account_recovery_code_account_id_account",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_account_recovery_code"),
    )
    op.create_index("ix_account_recovery_code_account_id", "account_recovery_code", ["account_id"])
    op.add_column(
        "auth_token",
        sa.Column("allowed_networks", sa.JSON, nullable=False, server_default=sa.text("'[]'")),
    )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("auth_token") as batch:
        batch.drop_column("allowed_networks")
    op.drop_table("account_recovery_code")
    op.drop_table("account_totp")
    op.drop_table("login_throttle")
