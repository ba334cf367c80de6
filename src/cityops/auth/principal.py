"""The authenticated caller of a request: who, with which role, seeing which data."""

from __future__ import annotations

from dataclasses import dataclass

from cityops.auth.roles import Perm, permissions_of
from cityops.kit.scope import DataScope


@dataclass(frozen=True, slots=True)
class Principal:
    """A verified account behind a token, with its permissions and data scope."""

    account_id: int
    username: str
    display_name: str
    role: str
    org_code: str
    department_id: int | None
    scope: DataScope
    must_change_password: bool
    token_id: int
    token_kind: str

    @property
    def permissions(self) -> frozenset[Perm]:
        """What the role may do."""
        return permissions_of(self.role)

    def can(self, permission: Perm) -> bool:
        """Whether the role holds a permission."""
        return permission in self.permissions
