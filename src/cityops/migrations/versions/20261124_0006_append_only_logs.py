"""append-only audit_log and case_event on SQLite too, and no TRUNCATE on PostgreSQL

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 06:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The logs that record who did what (等保 2.0: audit records are protected from change).
LOGS = ("audit_log", "case_event")


def upgrade() -> None:
    """Refuse UPDATE and DELETE on the logs (SQLite) and TRUNCATE (PostgreSQL)."""
    dialect = op.get_bind().dialect.name
    for table in LOGS:
        if dialect == "sqlite":
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        elif dialect == "postgresql":
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
            )


def downgrade() -> None:
    """Drop the triggers this revision added."""
    dialect = op.get_bind().dialect.name
    for table in LOGS:
        if dialect == "sqlite":
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
