"""citizen reports get their own source: the H5 page's cases move from `mobile` to `citizen`

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 14:30:00

The public H5 page opened its cases as source `mobile`, the same as grid workers' phones, so
"citizen reports awaiting review" could not be filtered. Its cases are known by their source
key: the page gives each submission the key `h5-<token>` (staff's phone reports use `m-…`).
The (source, source_key) pair stays unique: no `citizen` row existed before this revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CASES = sa.table("case_record", sa.column("source", sa.String), sa.column("source_key", sa.String))


def upgrade() -> None:
    op.execute(
        CASES.update()
        .where(CASES.c.source == "mobile", CASES.c.source_key.like("h5-%"))
        .values(source="citizen")
    )


def downgrade() -> None:
    op.execute(CASES.update().where(CASES.c.source == "citizen").values(source="mobile"))
