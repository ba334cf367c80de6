"""iot: open the IoT hub's branch

Revision ID: iot0001
Revises:
Create Date: 2026-12-07 17:20:00

The IoT hub's tables migrate on a branch of their own, after the foundation (0001). This first
revision only opens the branch, so the registry and the scenarios can each chain onto it.
"""

from collections.abc import Sequence

revision: str = "iot0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("iot",)
depends_on: str | Sequence[str] | None = "0001"


def upgrade() -> None:
    """Nothing to create: the branch's tables come in the revisions after this one."""


def downgrade() -> None:
    """Nothing to drop."""
