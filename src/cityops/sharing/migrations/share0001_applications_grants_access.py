"""sharing: applications, grants and the access log

Revision ID: share0001
Revises:
Create Date: 2026-12-07 17:40:00

Sharing (分层共享) migrates on a branch of its own after the foundation (0001): the
applications, the grants approval creates (indexed for the read path's lookup by grantee,
kind and resource) and the log of every access through a grant.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cityops.kit.db import UTCDateTime

revision: str = "share0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("sharing",)
depends_on: str | Sequence[str] | None = "0001"


def upgrade() -> None:
    """Create the three tables of sharing."""
    op.create_table(
        "share_application",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("resource_ids", sa.JSON, nullable=False),
        sa.Column("keys", sa.JSON, nullable=True),
        sa.Column("data_from", UTCDateTime(timezone=True), nullable=True),
        sa.Column("data_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("grantee_code", sa.String(24), nullable=False),
        sa.Column("owner_code", sa.String(24), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("applicant", sa.String(64), nullable=False),
        sa.Column("applicant_id", sa.Integer, nullable=True),
        sa.Column("applied_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["account.id"],
            name="fk_share_application_applicant_id_account",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_share_application"),
    )
    for column in ("grantee_code", "owner_code", "status"):
        op.create_index(f"ix_share_application_{column}", "share_application", [column])
    op.create_table(
        "share_grant",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("application_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("grantee_code", sa.String(24), nullable=False),
        sa.Column("owner_code", sa.String(24), nullable=False),
        sa.Column("keys", sa.JSON, nullable=True),
        sa.Column("data_from", UTCDateTime(timezone=True), nullable=True),
        sa.Column("data_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("granted_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["share_application.id"],
            name="fk_share_grant_application_id_share_application",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_share_grant"),
    )
    op.create_index("ix_share_grant_application_id", "share_grant", ["application_id"])
    op.create_index("ix_share_grant_owner_code", "share_grant", ["owner_code"])
    op.create_index("ix_share_grant_lookup", "share_grant", ["grantee_code", "kind", "resource_id"])
    op.create_table(
        "share_access",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("grant_id", sa.Integer, nullable=False),
        sa.Column("account_id", sa.Integer, nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["share_grant.id"],
            name="fk_share_access_grant_id_share_grant",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_share_access"),
    )
    op.create_index("ix_share_access_grant_id", "share_access", ["grant_id"])


def downgrade() -> None:
    """Drop the three tables of sharing."""
    op.drop_table("share_access")
    op.drop_table("share_grant")
    op.drop_table("share_application")
