"""Who acts in command and dispatch: a name, a unit, permissions and a data scope."""

from __future__ import annotations

from dataclasses import dataclass

from cityops.auth.principal import Principal
from cityops.auth.roles import Perm
from cityops.kit.scope import DataScope


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller of a command service (a person, or the platform's scheduler)."""

    name: str
    org_code: str
    permissions: frozenset[Perm]
    scope: DataScope

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        """The actor behind an authenticated request."""
        name = principal.display_name or principal.username
        return cls(name, principal.org_code, principal.permissions, principal.scope)


#: The scheduler's escalations and the seeding of plans act as the platform itself.
SYSTEM = Actor("系统", "", frozenset(Perm), DataScope.everything())
